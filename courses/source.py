"""Reading and checking course sources (courses/content): YAML structure, Markdown lessons.

Every problem is reported as `file:line: message`, so an author can fix it in place.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from gennation.platform.settings import CONTENT_LANGUAGES

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
WORD_RE = re.compile(r"\w+")
GLOSSARY_LINK_RE = re.compile(r"\[([^\]]+)\]\(glossary:([^)\s]*)\)")
IMAGE_RE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
AUDIENCES = ("school", "civil_servant", "citizen", "teacher")
# What completes a course: every lesson, quiz and the final exam; or, where the course says so (the
# civil-service course, whose agencies count the exam), passing the final exam alone.
COMPLETIONS = ("all_steps", "final_exam")
KINDS = ("single", "multiple", "true_false", "numeric", "ordering")
LINE = "__line__"


@dataclass(frozen=True)
class ContentRules:
    """The quality bar a course must meet. Tests of the engine use small, relaxed fixtures.

    The two assessment rules are off unless set: a fixture bank of four two-option questions cannot meet them.
    """

    lesson_words: tuple[int, int] = (400, 900)
    min_quiz_questions: int = 8
    min_exam_bank: int = 40
    # No option position may be keyed in more than this share of a course's single-choice questions.
    max_keyed_position_share: float | None = None
    # The chance of passing a final exam by a fixed answering pattern must stay below this.
    max_blind_pass_chance: float | None = None


STRICT = ContentRules(max_keyed_position_share=0.4, max_blind_pass_chance=0.01)


@dataclass(frozen=True)
class SourceError:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class LessonSource:
    id: str
    title: dict[str, str] = field(default_factory=dict)
    markdown: dict[str, str] = field(default_factory=dict)
    words: dict[str, int] = field(default_factory=dict)
    key_ideas: dict[str, str] = field(default_factory=dict)
    questions: dict[str, list[str]] = field(default_factory=dict)  # that the lesson answers (the tutor indexes them)


@dataclass
class QuestionSource:
    id: str
    kind: str
    key: dict
    text: dict[str, dict] = field(default_factory=dict)
    module: str | None = None  # the module a final-exam question tests: a topic to review when it is missed


@dataclass
class QuizSource:
    id: str
    pass_mark: int
    draw: int | None
    questions: list[QuestionSource] = field(default_factory=list)


@dataclass
class ModuleSource:
    id: str
    title: dict[str, str] = field(default_factory=dict)
    summary: dict[str, str] = field(default_factory=dict)
    lessons: list[LessonSource] = field(default_factory=list)
    quiz: QuizSource | None = None


@dataclass
class CourseSource:
    id: str
    position: int
    audience: str
    pass_mark: int
    version: str
    hours: int = 0  # the study hours a completion certifies
    completion: str = "all_steps"  # or "final_exam": passing the final exam alone completes the course
    title: dict[str, str] = field(default_factory=dict)
    summary: dict[str, str] = field(default_factory=dict)
    modules: list[ModuleSource] = field(default_factory=list)
    final_exam: QuizSource | None = None


class _LineLoader(yaml.SafeLoader):
    """Safe YAML loader that remembers the line of every mapping, for error messages."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Reader:
    """Collects errors while reading one course; each check adds to `errors` and goes on."""

    def __init__(self, rules: ContentRules = STRICT) -> None:
        self.errors: list[SourceError] = []
        self.rules = rules

    def error(self, path: Path, line: int, message: str) -> None:
        self.errors.append(SourceError(path, line, message))

    def yaml(self, path: Path) -> dict | None:
        if not path.exists():
            self.error(path, 0, "file is missing")
            return None
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.error(path, mark.line + 1 if mark else 0, f"invalid YAML: {getattr(exc, 'problem', exc)}")
            return None
        if not isinstance(data, dict):
            self.error(path, 1, "expected a mapping at the top level")
            return None
        return data

    def text(self, path: Path, data: dict, key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            self.error(path, data.get(LINE, 0), f"'{key}' must be a non-empty text")
            return ""
        return value.strip()

    def ident(self, path: Path, data: dict, key: str = "id") -> str:
        value = data.get(key)
        if not isinstance(value, str) or not ID_RE.fullmatch(value):
            self.error(path, data.get(LINE, 0), f"'{key}' must be lowercase letters, digits and '-', got {value!r}")
            return str(value)
        return value


def _strip_lines(value: object) -> object:
    """The answer key without line numbers, for comparing languages."""
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != LINE}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


@lru_cache(maxsize=1)
def markdown_renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False})
    md.use(front_matter_plugin).use(container_plugin, name="key-ideas").enable("table")
    return md


def uses_term(text: str, term: str) -> bool:
    """Whether `text` is a form of the glossary `term` (same word stem, any grammatical ending).

    Kazakh and Russian words change their endings, so a stem of one of the term's words must appear.
    """
    text = text.casefold()
    words = WORD_RE.findall(re.sub(r"\(.*?\)", "", term).casefold())
    return any(word[: max(3, min(5, len(word) - 2))] in text for word in words)


def split_front_matter(raw: str) -> tuple[dict, str, int]:
    """Return (front matter, body, line where the body starts)."""
    if not raw.startswith("---\n"):
        return {}, raw, 1
    end = raw.find("\n---", 4)
    if end == -1:
        return {}, raw, 1
    meta = yaml.safe_load(raw[4:end]) or {}
    body_start = raw[: end + 4].count("\n") + 2
    return (meta if isinstance(meta, dict) else {}), raw[end + 4 :].lstrip("\n"), body_start


def plain_text(markdown: str) -> str:
    """Lesson text without Markdown syntax: what a reader reads, and what the tutor searches."""
    tokens = markdown_renderer().parse(markdown)
    parts: list[str] = []
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        pieces = []
        for child in token.children:
            if child.type in ("text", "code_inline"):
                pieces.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                pieces.append(" ")
        parts.append("".join(pieces))
    return "\n".join(p for p in parts if p.strip())


KEY_IDEAS_RE = re.compile(r"^::: key-ideas\s*\n(.*?)^:::\s*$", re.S | re.M)


def key_ideas(markdown: str) -> str:
    """The text of the lesson's key-ideas box: its summary in a few lines."""
    match = KEY_IDEAS_RE.search(markdown)
    return plain_text(match.group(1)) if match else ""


def count_words(markdown: str) -> int:
    return len(WORD_RE.findall(plain_text(markdown)))


def _read_glossary(reader: _Reader, content_dir: Path) -> dict[str, dict[str, dict]]:
    glossary: dict[str, dict[str, dict]] = {}
    for lang in CONTENT_LANGUAGES:
        path = content_dir / f"glossary.{lang}.yaml"
        data = reader.yaml(path) or {}
        terms: dict[str, dict] = {}
        for entry in data.get("terms") or []:
            if not isinstance(entry, dict):
                reader.error(path, data.get(LINE, 0), "each term must be a mapping with id, term, definition")
                continue
            term_id = reader.ident(path, entry)
            if term_id in terms:
                reader.error(path, entry[LINE], f"term '{term_id}' is defined twice")
            reader.text(path, entry, "term")
            reader.text(path, entry, "definition")
            terms[term_id] = {"term": entry.get("term"), "definition": entry.get("definition")}
        glossary[lang] = terms
    kk, ru = (set(glossary[lang]) for lang in CONTENT_LANGUAGES)
    for missing in sorted(kk ^ ru):
        lang = "ru" if missing in kk else "kk"
        reader.error(content_dir / f"glossary.{lang}.yaml", 0, f"term '{missing}' is missing in this language")
    return glossary


def read_glossary(content_dir: Path) -> tuple[dict[str, dict[str, dict]], list[SourceError]]:
    reader = _Reader()
    return _read_glossary(reader, content_dir), reader.errors


def glossary_terms(content_dir: Path, lang: str) -> list[tuple[str, dict]]:
    """The glossary of one language, sorted by term, read once per edit of the glossary files."""
    stamps = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(content_dir.glob("glossary.*.yaml")))
    return _sorted_glossary(content_dir, lang, stamps)


@lru_cache(maxsize=16)
def _sorted_glossary(content_dir: Path, lang: str, _stamps: tuple) -> list[tuple[str, dict]]:
    glossary, _errors = read_glossary(content_dir)
    return sorted(glossary.get(lang, {}).items(), key=lambda kv: str(kv[1]["term"]).casefold())


def _read_question(reader: _Reader, path: Path, raw: dict, modules: list[str]) -> tuple | None:
    """(id, kind, key, text, module) of one question, or None when it cannot be used."""
    line = raw.get(LINE, 0)
    qid = reader.ident(path, raw)
    kind = raw.get("type")
    if kind not in KINDS:
        reader.error(path, line, f"question '{qid}': type must be one of {', '.join(KINDS)}")
        return None
    module = raw.get("module")
    if module is not None and module not in modules:
        reader.error(path, line, f"question '{qid}': module '{module}' is not a module of this course")
    text: dict = {"prompt": reader.text(path, raw, "prompt")}
    key: dict = {}
    if kind in ("single", "multiple", "true_false"):
        options = raw.get("options") or []
        if not isinstance(options, list) or len(options) < 2:
            reader.error(path, line, f"question '{qid}': needs at least two options")
            return None
        text["options"] = []
        correct = []
        seen = set()
        for option in options:
            oid = str(option.get("id", ""))
            if not oid or oid in seen:
                reader.error(path, option.get(LINE, line), f"question '{qid}': option ids must be present and unique")
            seen.add(oid)
            text["options"].append({
                "id": oid,
                "text": reader.text(path, option, "text"),
                "explanation": reader.text(path, option, "explanation"),
            })
            if option.get("correct") is True:
                correct.append(oid)
        if kind == "true_false" and seen != {"true", "false"}:
            reader.error(path, line, f"question '{qid}': true_false options must have ids 'true' and 'false'")
        if kind in ("single", "true_false") and len(correct) != 1:
            reader.error(path, line, f"question '{qid}': exactly one option must be correct (found {len(correct)})")
        if kind == "multiple" and not correct:
            reader.error(path, line, f"question '{qid}': at least one option must be correct")
        key = {"correct": sorted(correct)}
    elif kind == "numeric":
        answer, tolerance = raw.get("answer"), raw.get("tolerance", 0)
        if not isinstance(answer, (int, float)) or isinstance(answer, bool):
            reader.error(path, line, f"question '{qid}': 'answer' must be a number")
        if not isinstance(tolerance, (int, float)) or tolerance < 0:
            reader.error(path, line, f"question '{qid}': 'tolerance' must be a number >= 0")
        key = {"answer": answer, "tolerance": tolerance}
        text["explanation"] = reader.text(path, raw, "explanation")
        text["unit"] = str(raw.get("unit") or "")
    else:  # ordering
        items = raw.get("items") or []
        if not isinstance(items, list) or len(items) < 3:
            reader.error(path, line, f"question '{qid}': ordering needs at least three items")
            return None
        text["items"] = [{"id": str(item.get("id", "")), "text": reader.text(path, item, "text")} for item in items]
        key = {"order": [item["id"] for item in text["items"]]}
        if len(set(key["order"])) != len(key["order"]) or "" in key["order"]:
            reader.error(path, line, f"question '{qid}': item ids must be present and unique")
        text["explanation"] = reader.text(path, raw, "explanation")
    return qid, kind, key, text, module


def _read_quiz(reader: _Reader, course_dir: Path, name: str, quiz_id: str, pass_mark: int,
               draw: int | None, minimum: int, modules: list[str]) -> QuizSource:
    quiz = QuizSource(id=quiz_id, pass_mark=pass_mark, draw=draw)
    per_lang: dict[str, list] = {}
    for lang in CONTENT_LANGUAGES:
        path = course_dir / lang / name
        data = reader.yaml(path)
        if data is None:
            continue
        questions = data.get("questions")
        if not isinstance(questions, list):
            reader.error(path, data.get(LINE, 0), "'questions' must be a list")
            continue
        read = [q for raw in questions if isinstance(raw, dict) and (q := _read_question(reader, path, raw, modules))]
        ids = [q[0] for q in read]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            reader.error(path, data[LINE], f"question id '{dup}' is used twice")
        if len(read) < minimum:
            reader.error(path, data[LINE], f"needs at least {minimum} questions, has {len(read)}")
        per_lang[lang] = read
    if len(per_lang) != len(CONTENT_LANGUAGES):
        return quiz
    kk, ru = per_lang["kk"], per_lang["ru"]
    if [q[0] for q in kk] != [q[0] for q in ru]:
        reader.error(course_dir / "ru" / name, 0, "question ids or their order differ from the Kazakh file")
        return quiz
    for (qid, kind, key, text_kk, module), (_, kind_ru, key_ru, text_ru, module_ru) in zip(kk, ru):
        option_ids = [[o["id"] for o in t.get("options", t.get("items", []))] for t in (text_kk, text_ru)]
        if kind != kind_ru or key != key_ru or option_ids[0] != option_ids[1] or module != module_ru:
            reader.error(course_dir / "ru" / name, 0,
                         f"question '{qid}': type, options, key or module differ from the Kazakh file")
        quiz.questions.append(QuestionSource(id=qid, kind=kind, key=key, text={"kk": text_kk, "ru": text_ru},
                                             module=module))
    return quiz


def read_question_bank(folder: Path, name: str, minimum: int) -> tuple[list[QuestionSource], list[SourceError]]:
    """A question bank outside a course (the tournament's): `folder/kk/name` and `folder/ru/name` in the
    quiz format, checked as a course quiz is."""
    reader = _Reader()
    quiz = _read_quiz(reader, folder, name, name.removesuffix(".yaml"), 0, None, minimum, [])
    return quiz.questions, reader.errors


def keyed_positions(course: CourseSource) -> list[tuple[int, int]]:
    """(keyed option position, number of options) of every single-choice question of a course, as stored."""
    quizzes = [m.quiz for m in course.modules if m.quiz] + ([course.final_exam] if course.final_exam else [])
    found = []
    for quiz in quizzes:
        for q in quiz.questions:
            if q.kind == "single" and q.key["correct"]:
                ids = [o["id"] for o in q.text["kk"]["options"]]
                found.append((ids.index(q.key["correct"][0]), len(ids)))
    return found


def passing_score(pass_mark: int, questions: int) -> int:
    """The fewest right answers out of `questions` that pass (the grader's rounding of the score)."""
    return next(c for c in range(questions + 1) if round(100 * c / questions, 1) >= pass_mark)


def _guess_chances(exam: QuizSource, true_false: str | None, number: float | None) -> list[float]:
    """Per question of the bank: the best chance that one fixed answering pattern answers it right.

    Options and ordering items are shuffled for every attempt, so a positional choice ("the first option",
    "the first k options", "the items as shown", "the true/false option shown first") hits the key by
    chance: 1/n of n options, 1/C(n, k) for k keyed of n (no other k can be exactly right), 1/m! for m items
    (any order may be shown, the keyed one too). A choice by meaning is sure: always "true" or always
    "false" (`true_false`, None for a positional choice), always the same `number` (None for none).
    """
    chances = []
    for q in exam.questions:
        options = q.text["kk"].get("options", [])
        if q.kind == "single":
            chances.append(1 / len(options))
        elif q.kind == "multiple":
            chances.append(1 / math.comb(len(options), len(q.key["correct"])))
        elif q.kind == "true_false":
            chances.append(0.5 if true_false is None else float(q.key["correct"] == [true_false]))
        elif q.kind == "numeric":
            close = number is not None and abs(number - float(q.key["answer"])) <= float(q.key["tolerance"]) + 1e-9
            chances.append(float(close))
        else:
            chances.append(1 / math.factorial(len(q.key["order"])))
    return chances


def _pass_chance(chances: list[float], draw: int, needed: int) -> float:
    """Exact chance of at least `needed` right answers when `draw` questions are drawn from the bank.

    Every draw of `draw` questions is equally likely, and within a draw the questions are answered right
    independently (each attempt shuffles each question anew). Dynamic programming over the bank:
    ways[j][c] = sum, over the draws of j of the questions seen so far, of the chance that exactly c of them
    are right. Dividing ways[draw][c] by C(bank, draw) gives the distribution of the number right.
    """
    ways = [[0.0] * (draw + 1) for _ in range(draw + 1)]
    ways[0][0] = 1.0
    for p in chances:
        for j in range(draw, 0, -1):  # backwards, so that each question is drawn at most once
            for c in range(j, -1, -1):
                ways[j][c] += ways[j - 1][c] * (1 - p) + (ways[j - 1][c - 1] * p if c else 0.0)
    return sum(ways[draw][needed:]) / math.comb(len(chances), draw)


def blind_pass_chance(exam: QuizSource) -> float:
    """The chance that a fixed answering pattern passes this final exam, for the best such pattern.

    A pattern fixes, for every question type, how to answer without reading: a position (shuffling makes it
    a guess, see `_guess_chances`), "true" or "false" for every true/false question, one number for every
    numeric one. Positional choices are counted at their best for each question, so the result is an upper
    bound; the choices by meaning are tried one by one (both of true/false, every keyed number).
    """
    draw = min(exam.draw or len(exam.questions), len(exam.questions))
    if not draw:
        return 0.0
    needed = passing_score(exam.pass_mark, draw)
    numbers = [None] + sorted({float(q.key["answer"]) for q in exam.questions if q.kind == "numeric"})
    return max(_pass_chance(_guess_chances(exam, true_false, number), draw, needed)
               for true_false in (None, "true", "false") for number in numbers)


def _check_assessments(reader: _Reader, path: Path, line: int, course: CourseSource) -> None:
    """Keyed options spread over positions, and final exams that a fixed answering pattern cannot pass."""
    share = reader.rules.max_keyed_position_share
    positions = keyed_positions(course)
    if share is not None and positions:
        for position in sorted({p for p, _ in positions}):
            count = sum(p == position for p, _ in positions)
            if count > share * len(positions):
                reader.error(path, line, f"option {position + 1} is the keyed one in {count} of {len(positions)} "
                                         f"single-choice questions; at most {share:.0%} may share a position")
    limit = reader.rules.max_blind_pass_chance
    if limit is not None and course.final_exam and course.final_exam.questions:
        chance = blind_pass_chance(course.final_exam)
        if chance >= limit:
            reader.error(path, line, f"the final exam can be passed by a fixed answering pattern with a chance of "
                                     f"{chance:.2%}; it must stay below {limit:.0%} (draw more questions, raise "
                                     f"the pass mark, or add options)")


def _read_lesson(reader: _Reader, course_dir: Path, module_id: str, lesson_id: str,
                 glossary: dict[str, dict[str, dict]]) -> LessonSource:
    lesson = LessonSource(id=lesson_id)
    for lang in CONTENT_LANGUAGES:
        path = course_dir / lang / module_id / f"{lesson_id}.md"
        if not path.exists():
            reader.error(path, 0, "lesson file is missing")
            continue
        raw = path.read_text(encoding="utf-8")
        try:
            meta, body, body_line = split_front_matter(raw)
        except yaml.YAMLError:
            reader.error(path, 1, "front matter is not valid YAML")
            continue
        title = meta.get("title")
        if not isinstance(title, str) or not title.strip():
            reader.error(path, 1, "front matter needs a 'title'")
        lesson.questions[lang] = _lesson_questions(reader, path, meta.get("questions", []))
        if not body.strip():
            reader.error(path, body_line, "lesson is empty")
            continue
        words = count_words(body)
        low, high = reader.rules.lesson_words
        if not low <= words <= high:
            reader.error(path, body_line, f"lesson has {words} words; it must have {low} to {high}")
        boxes = body.count("::: key-ideas")
        if boxes != 1:
            reader.error(path, body_line, f"lesson needs exactly one '::: key-ideas' box, has {boxes}")
        for number, text_line in enumerate(body.splitlines(), start=body_line):
            for link_text, term in GLOSSARY_LINK_RE.findall(text_line):
                entry = glossary.get(lang, {}).get(term)
                if entry is None:
                    reader.error(path, number, f"glossary term '{term}' is not in glossary.{lang}.yaml")
                elif not uses_term(link_text, str(entry["term"])):
                    reader.error(path, number, f"link text '{link_text}' does not use the glossary term "
                                               f"'{entry['term']}' ({term})")
            for alt, src in IMAGE_RE.findall(text_line):
                if not alt.strip():
                    reader.error(path, number, f"image '{src}' needs alt text")
                if not src.startswith("images/") or not (course_dir / src).is_file():
                    reader.error(path, number, f"image '{src}' not found in {course_dir.name}/images/")
        lesson.title[lang] = str(title or "").strip()
        lesson.markdown[lang] = body
        lesson.key_ideas[lang] = key_ideas(body)
        lesson.words[lang] = words
    counts = {lang: len(found) for lang, found in lesson.questions.items()}
    if len(set(counts.values())) > 1:
        reader.error(course_dir / CONTENT_LANGUAGES[0] / module_id / f"{lesson_id}.md", 1,
                     "front matter 'questions' must list as many questions in every language ("
                     + ", ".join(f"{lang}: {n}" for lang, n in counts.items()) + ")")
    return lesson


def _lesson_questions(reader: _Reader, path: Path, raw: object) -> list[str]:
    """Front matter `questions:` (optional): up to 5 questions the lesson answers, each ending with '?'."""
    if raw is None or raw == []:
        return []
    if not isinstance(raw, list) or len(raw) > 5:
        reader.error(path, 1, "front matter 'questions' must be a list of at most 5 questions")
        return []
    found = []
    for item in raw:
        if not isinstance(item, str) or not 8 <= len(item.strip()) <= 200 or not item.strip().endswith("?"):
            reader.error(path, 1, f"front matter question {item!r} must be 8 to 200 characters and end with '?'")
            continue
        found.append(item.strip())
    return found


# Raise when what `load` stores changes, so that unchanged sources are stored again.
LOADER_VERSION = "4"


def _version(course_dir: Path) -> str:
    digest = hashlib.sha256(LOADER_VERSION.encode())
    for path in sorted(p for p in course_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(course_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def read_course(course_dir: Path, glossary: dict[str, dict[str, dict]], rules: ContentRules = STRICT,
                ) -> tuple[CourseSource | None, list[SourceError]]:
    """Read and check one course folder. Returns the course (None if unusable) and its errors."""
    reader = _Reader(rules)
    path = course_dir / "course.yaml"
    data = reader.yaml(path)
    if data is None:
        return None, reader.errors
    course_id = reader.ident(path, data)
    if course_id != course_dir.name:
        reader.error(path, data[LINE], f"id '{course_id}' must equal the folder name '{course_dir.name}'")
    if data.get("audience") not in AUDIENCES:
        reader.error(path, data[LINE], f"audience must be one of {', '.join(AUDIENCES)}")
    pass_mark = data.get("pass_mark", 70)
    if not isinstance(pass_mark, int) or not 1 <= pass_mark <= 100:
        reader.error(path, data[LINE], "pass_mark must be a whole number from 1 to 100")
        pass_mark = 70
    hours = data.get("hours")
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 200:
        reader.error(path, data[LINE], "hours must be a whole number from 1 to 200 (the study hours a certificate states)")
        hours = 0
    completion = data.get("completion", "all_steps")
    if completion not in COMPLETIONS:
        reader.error(path, data[LINE], f"completion must be one of {', '.join(COMPLETIONS)}")
        completion = "all_steps"
    elif completion == "final_exam" and not data.get("final_exam"):
        reader.error(path, data[LINE], "completion: final_exam needs a final_exam")
    course = CourseSource(id=course_id, position=int(data.get("position") or 0), audience=str(data.get("audience")),
                          pass_mark=pass_mark, version=_version(course_dir), hours=hours, completion=completion)
    modules = data.get("modules")
    if not isinstance(modules, list) or not modules:
        reader.error(path, data[LINE], "'modules' must be a non-empty list")
        return None, reader.errors
    texts = {lang: reader.yaml(course_dir / lang / "course.yaml") or {} for lang in CONTENT_LANGUAGES}
    for lang, text in texts.items():
        course.title[lang] = reader.text(course_dir / lang / "course.yaml", text, "title") if text else ""
        course.summary[lang] = reader.text(course_dir / lang / "course.yaml", text, "summary") if text else ""
    module_ids = []
    for raw_module in modules:
        if not isinstance(raw_module, dict):
            reader.error(path, data[LINE], "each module must be a mapping with id and lessons")
            continue
        module_id = reader.ident(path, raw_module)
        if module_id in module_ids:
            reader.error(path, raw_module[LINE], f"module '{module_id}' is listed twice")
        module_ids.append(module_id)
        module = ModuleSource(id=module_id)
        for lang, text in texts.items():
            lang_path = course_dir / lang / "course.yaml"
            entry = (text.get("modules") or {}).get(module_id) if text else None
            if not isinstance(entry, dict):
                if text:
                    reader.error(lang_path, text.get(LINE, 0), f"module '{module_id}' has no title here")
                continue
            module.title[lang] = reader.text(lang_path, entry, "title")
            module.summary[lang] = reader.text(lang_path, entry, "summary")
        lesson_ids = raw_module.get("lessons")
        if not isinstance(lesson_ids, list) or not lesson_ids:
            reader.error(path, raw_module[LINE], f"module '{module_id}' needs a list of lessons")
            lesson_ids = []
        for lesson_id in lesson_ids:
            if not isinstance(lesson_id, str) or not ID_RE.fullmatch(lesson_id):
                reader.error(path, raw_module[LINE], f"lesson id {lesson_id!r} must be lowercase letters, digits and '-'")
                continue
            module.lessons.append(_read_lesson(reader, course_dir, module_id, lesson_id, glossary))
        module.quiz = _read_quiz(reader, course_dir, f"{module_id}/quiz.yaml", f"{module_id}-quiz",
                                 pass_mark, None, reader.rules.min_quiz_questions, module_ids)
        course.modules.append(module)
    for lang, text in texts.items():
        for extra in sorted(set((text.get("modules") or {}) if text else ()) - set(module_ids) - {LINE}):
            reader.error(course_dir / lang / "course.yaml", 0, f"module '{extra}' is not in the neutral course.yaml")
        lang_dir = course_dir / lang
        listed = {f"{m.id}/{lesson.id}.md" for m in course.modules for lesson in m.lessons}
        for md in sorted(lang_dir.rglob("*.md")) if lang_dir.exists() else []:
            if str(md.relative_to(lang_dir)) not in listed:
                reader.error(md, 0, "lesson file is not listed in course.yaml")
    exam = data.get("final_exam")
    if isinstance(exam, dict):
        draw, exam_mark = exam.get("draw"), exam.get("pass_mark", pass_mark)
        if not isinstance(draw, int) or draw < 1:
            reader.error(path, exam[LINE], "final_exam.draw must be a positive whole number")
            draw = 20
        course.final_exam = _read_quiz(reader, course_dir, "final-exam.yaml", "final-exam", int(exam_mark),
                                       draw, max(2 * draw, reader.rules.min_exam_bank), module_ids)
    _check_assessments(reader, path, data[LINE], course)
    return course, reader.errors


def read_all(content_dir: Path, rules: ContentRules = STRICT) -> tuple[list[CourseSource], dict, list[SourceError]]:
    """Read the glossary and every course folder (a folder with a course.yaml)."""
    glossary, errors = read_glossary(content_dir)
    courses = []
    for course_dir in sorted(p.parent for p in content_dir.glob("*/course.yaml")):
        course, course_errors = read_course(course_dir, glossary, rules)
        errors.extend(course_errors)
        if course:
            courses.append(course)
    return sorted(courses, key=lambda c: (c.position, c.id)), glossary, errors
