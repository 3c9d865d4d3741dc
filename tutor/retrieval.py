"""Finding the lesson that answers a question, and the part of it to show.

Per language, every live lesson is indexed four ways, each a BM25 index over stemmed words
(`morphology`): its sections (lesson title, section heading and text), the lesson as a whole (title,
key ideas, the questions its authors say it answers), those questions one by one, and the glossary
(term and definition). A lesson's score adds its best section, the lesson, its best author question
and, when the question names a glossary term the lesson links, a bonus; the page's own lesson gets a
bonus too (follow-ups: "and the threshold?"). "What is X" questions about a glossary term start from
its definition. The weights were tuned on tests/tutor/eval_set.yaml (hit@1, hit@3 in the README).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from gennation.courses.models import Course, Lesson, Module
from gennation.courses.source import GLOSSARY_LINK_RE, KEY_IDEAS_RE, plain_text, split_front_matter
from gennation.tutor import morphology

# Tuned on the evaluation set (see the module docstring).
WEIGHTS = {"section": 1.0, "lesson": 0.7, "question": 0.5, "glossary": 0.45, "current": 0.3}
EXCERPT_WORDS = {"kk": 45, "ru": 55}  # the passage shown first and handed to the model
LIST_WORDS = 30  # a list the excerpt opens may run over by this much
SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
# "Try it yourself" sections hold exercises, not answers: they weigh less.
EXERCISE = re.compile(r"байқап көр|ойланып көр|өзіңді тексер|попробуй|подумай|проверь себя", re.IGNORECASE)
EXERCISE_WEIGHT = 0.5
# A lesson's opening (the text before its first heading) is mostly a story that leads in: when the lesson
# has headed sections, the answer is looked for there first.
OPENING_WEIGHT = 0.6

# Everyday and English names of course topics, added to a question in the index's language.
ALIASES = {
    "kk": {"ии": "жи", "ai": "жи", "нейросеть": "нейрондық желі", "нейросети": "нейрондық желі",
           "промпт": "сұраныс", "prompt": "сұраныс", "machine learning": "машиналық оқыту",
           "чат-бот": "чат-көмекші", "чатбот": "чат-көмекші", "deepfake": "дипфейк", "chatgpt": "чат-көмекші",
           "neural network": "нейрондық желі", "data": "деректер"},
    "ru": {"жи": "ии", "ai": "ии", "нейронка": "нейросеть", "промпт": "запрос", "prompt": "запрос",
           "machine learning": "машинное обучение", "чат-бот": "чат-ассистент", "чат бот": "чат-ассистент",
           "чатбот": "чат-ассистент", "deepfake": "дипфейк", "chatgpt": "чат-ассистент",
           "neural network": "нейронная сеть", "data": "данные", "двухфакторка": "двухфакторная аутентификация"},
}
# "What is X" in the way learners ask it (folded for Kazakh by the caller).
DEFINITION_ASKED = {
    "kk": re.compile(r"деген\s+не|дегенимиз\s+не|дегенин\s+не|деп\s+нени|деп\s+не|не\s+деген|деп\s+атай|мағынасы"),
    "ru": re.compile(r"что\s+такое|что\s+значит|что\s+это|это\s+что|кто\s+такой|означает|\bэто\s+как"),
}
# Kinds of question (folded for Kazakh) and the words of a sentence that answers that kind: "why" and
# "what for" are answered with a reason or a purpose, "what do I do" with a rule or a step. For such a
# question, such sentences of the lesson (and sections whose heading asks the same) are preferred.
INTENTS = {
    "why": {"kk": (re.compile(r"(?<!\w)(неге|неликтен|не\s+ушин|не\s+себепти)(?!\w)"),
                   re.compile(r"себеб|себепт|ойткени|сондыктан|ушин")),
            "ru": (re.compile(r"(?<!\w)(почему|зачем|отчего|для\s+чего)(?!\w)"),
                   re.compile(r"потому|поэтому|так\s+как|из-за|причин|оттого|чтобы|поскольку"))},
    "act": {"kk": (re.compile(r"(?<!\w)не\s+исте(ймин|ймиз|у|йик|йин)|(?<!\w)кайтемин(?!\w)"),
                   re.compile(r"(?<!\w)не\s+исте|керек|тиис|кажет|ереже")),
            "ru": (re.compile(r"что\s+(мне\s+|нам\s+)?(делать|сделать)|как\s+быть|как\s+поступить"),
                   re.compile(r"что\s+делать|нужно|надо|следует|правило"))},
}
INTENT_WEIGHT = 1.5  # a sentence that answers the kind of question asked
INTENT_IDEA = 0.5  # a key idea that does counts even without the question's words

# Course topics beyond the glossary: abbreviations and everyday names for AI.
TOPIC_WORDS = ["ЖИ", "ИИ", "AI", "нейрожелі", "нейросеть", "чат-бот", "чатбот", "робот", "бот", "ChatGPT"]


@dataclass(frozen=True)
class Passage:
    """One section of a lesson."""

    course: str
    course_title: str
    lesson: str
    lesson_title: str
    text: str
    heading: str = ""

    @property
    def url_path(self) -> str:
        return f"courses/{self.course}/lessons/{self.lesson}"


@dataclass(frozen=True)
class Definition:
    id: str
    term: str
    definition: str


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    raw: float = 0.0  # the best section's own BM25 score: how well any lesson text matches


@dataclass
class LessonDoc:
    course: str
    course_title: str
    lesson: str
    title: str
    key_ideas: str = ""
    questions: list[str] = field(default_factory=list)
    sections: list[Passage] = field(default_factory=list)
    terms: set[str] = field(default_factory=set)  # glossary ids the lesson links


class BM25:
    """Okapi BM25 over token lists."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.freqs = [Counter(doc) for doc in docs]
        self.lengths = [len(doc) for doc in docs]
        self.average = (sum(self.lengths) / len(docs)) if docs else 0.0
        counts = Counter(token for doc in self.freqs for token in doc)
        total = len(docs)
        self.idf = {token: math.log(1 + (total - n + 0.5) / (n + 0.5)) for token, n in counts.items()}

    def scores(self, query: list[str]) -> list[float]:
        result = []
        for freq, length in zip(self.freqs, self.lengths):
            score = 0.0
            norm = self.k1 * (1 - self.b + self.b * length / (self.average or 1))
            for token in query:
                tf = freq.get(token)
                if tf:
                    score += self.idf[token] * tf * (self.k1 + 1) / (tf + norm)
            result.append(score)
        return result


def split_sections(markdown: str) -> list[tuple[str, str]]:
    """(heading, plain text) of each "## " section; the text before the first heading has none.
    The key-ideas box is left out (the lesson's key ideas are indexed on their own)."""
    markdown = KEY_IDEAS_RE.sub("", markdown)
    sections, heading, lines = [], "", []
    for line in markdown.splitlines():
        found = re.match(r"^#{2,6}\s+(.*)$", line)
        if found:
            if "".join(lines).strip():
                sections.append((heading, plain_text("\n".join(lines))))
            heading, lines = found.group(1).strip(), []
        else:
            lines.append(line)
    if "".join(lines).strip():
        sections.append((heading, plain_text("\n".join(lines))))
    return [(h, t) for h, t in sections if t.strip()]


def chunks(text: str, size: int = 80) -> list[str]:
    """Paragraph-aligned chunks of about `size` words (lessons without a source file)."""
    out, current = [], []
    for paragraph in (p.strip() for p in text.split("\n") if p.strip()):
        current.append(paragraph)
        if sum(len(p.split()) for p in current) >= size:
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return out


class LessonIndex:
    """All lessons of one content language, searchable."""

    def __init__(self, lessons: list[LessonDoc], glossary: list[Definition], lang: str, analyzer: str = "stems+ngrams",
                 weights: dict | None = None):
        self.lang = lang
        self.lessons = lessons
        self.glossary = glossary
        self.weights = {**WEIGHTS, **(weights or {})}
        self.analyze = lambda text: morphology.ANALYZERS[analyzer](text, lang)
        self.passages = [s for doc in lessons for s in doc.sections]
        self.key_ideas = {(d.course, d.lesson): d.key_ideas for d in lessons}
        self._section_lesson = [i for i, doc in enumerate(lessons) for _ in doc.sections]
        self._sections = BM25([self.analyze(f"{s.lesson_title} {s.heading} {s.heading} {s.text}")
                               for s in self.passages])
        self._lessons = BM25([self.analyze(" ".join([d.title, d.title, d.key_ideas, *d.questions])) for d in lessons])
        self._question_lesson = [i for i, doc in enumerate(lessons) for _ in doc.questions]
        self._questions = BM25([self.analyze(q) for doc in lessons for q in doc.questions])
        self._term_stems = [set(morphology.stems(entry.term, lang)) for entry in glossary]
        self._vocabulary: set[str] | None = None
        self.topic_terms = {s for term in [*(e.term for e in glossary), *TOPIC_WORDS]
                            for s in morphology.stems(term, lang)}

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, session: Session, lang: str, content_dir: Path | None = None,
              glossary: list[tuple[str, dict]] = (), analyzer: str = "stems+ngrams") -> "LessonIndex":
        rows = session.exec(
            select(Course.slug, Course.title, Module.slug, Lesson.slug, Lesson.title, Lesson.body_text,
                   Lesson.key_ideas)
            .join(Module, Module.id == Lesson.module_id).join(Course, Course.id == Module.course_id)
            .where(Course.retired == False, Module.retired == False, Lesson.retired == False)  # noqa: E712
            .order_by(Course.position, Module.position, Lesson.position)).all()
        lessons = []
        for course, course_title, module, lesson, title, body, ideas in rows:
            doc = LessonDoc(course, course_title.get(lang, ""), lesson, title.get(lang, ""), ideas.get(lang, ""))
            source = content_dir / course / lang / module / f"{lesson}.md" if content_dir else None
            if source is not None and source.is_file():
                meta, markdown, _line = split_front_matter(source.read_text(encoding="utf-8"))
                doc.questions = [str(q) for q in meta.get("questions") or [] if isinstance(q, str)]
                doc.terms = {term for _text, term in GLOSSARY_LINK_RE.findall(markdown)}
                parts = split_sections(markdown)
            else:
                parts = [("", chunk) for chunk in chunks(body.get(lang, ""))]
            doc.sections = [Passage(course, doc.course_title, lesson, doc.title, text, heading)
                            for heading, text in parts]
            if doc.sections:
                lessons.append(doc)
        definitions = [Definition(term_id, str(entry["term"]), str(entry["definition"])) for term_id, entry in glossary]
        return cls(lessons, definitions, lang, analyzer)

    # ------------------------------------------------------------------ searching
    def expand(self, question: str) -> str:
        """The question with everyday and English topic names put in the index's language."""
        text = question.casefold()
        for alias, target in ALIASES.get(self.lang, {}).items():
            text = re.sub(rf"(?<!\w){re.escape(alias)}(?!\w)", target, text)
        return text

    def named_terms(self, question: str) -> list[Definition]:
        """Glossary terms the question names (every word of the term, in any form), longest first."""
        order = morphology.stems(self.expand(question), self.lang)
        asked = set(order)
        found = [(len(stems), min(order.index(s) for s in stems), entry)
                 for entry, stems in zip(self.glossary, self._term_stems) if stems and stems <= asked]
        # longest first; of equal length, the one asked about first ("what is the bias of an algorithm")
        return [entry for _n, _at, entry in sorted(found, key=lambda item: (-item[0], item[1]))]

    def definition_for(self, question: str) -> Definition | None:
        """The glossary definition a "what is X" question starts from, when X is a glossary term."""
        terms = self.named_terms(question)
        if not terms:
            return None
        folded = morphology.fold(question, self.lang)
        asked = set(morphology.stems(self.expand(question), self.lang))
        marker = DEFINITION_ASKED[self.lang].search(folded)
        if marker:
            return self._asked_term(terms, folded, marker)
        if not asked - set(morphology.stems(terms[0].term, self.lang)):
            return terms[0]
        return None

    def _asked_term(self, terms: list[Definition], folded: str, marker: re.Match) -> Definition:
        """Of the terms a "what is X" question names, the one it asks about: in Kazakh the term just before
        «деген не» («машиналық оқытуда белгі деген не»: белгі), in Russian the one just after «что такое»
        («что такое метка в машинном обучении»: метка); of equal distance, the longest."""
        kazakh = self.lang == "kk"
        side = morphology.stems(self.expand(folded[:marker.start()] if kazakh else folded[marker.end():]), self.lang)
        best, best_distance = terms[0], None
        for entry in terms:  # longest first
            stems = set(morphology.stems(entry.term, self.lang))
            places = [i for i, stem in enumerate(side) if stem in stems]
            if not stems <= set(side) or not places:
                continue
            distance = len(side) - 1 - max(places) if kazakh else min(places)
            if best_distance is None or distance < best_distance:
                best, best_distance = entry, distance
        return best

    def search(self, question: str, current: tuple[str, str] | None = None, limit: int = 3) -> list[Hit]:
        """The best section of each of the best lessons for `question`, best first."""
        if not self.passages:
            return []
        query = self.analyze(self.expand(question))
        if not query:
            return []
        section_scores = [score * (EXERCISE_WEIGHT if passage.heading and EXERCISE.search(passage.heading) else 1.0)
                          for score, passage in zip(self._sections.scores(query), self.passages)]
        lesson_scores = self._lessons.scores(query)
        question_scores = self._questions.scores(query) if self._question_lesson else []
        best_section: dict[int, int] = {}
        for position, (lesson, score) in enumerate(zip(self._section_lesson, section_scores)):
            if lesson not in best_section or score > section_scores[best_section[lesson]]:
                best_section[lesson] = position
        best_question = [0.0] * len(self.lessons)
        for lesson, score in zip(self._question_lesson, question_scores):
            best_question[lesson] = max(best_question[lesson], score)
        top_section, top_lesson = max(section_scores) or 1.0, max(lesson_scores) or 1.0
        top_question = max(best_question) or 1.0
        named = {entry.id for entry in self.named_terms(question)}
        w = self.weights
        ranked = []
        for index, doc in enumerate(self.lessons):
            section = best_section[index]
            score = (w["section"] * section_scores[section] / top_section
                     + w["lesson"] * lesson_scores[index] / top_lesson
                     + w["question"] * best_question[index] / top_question
                     + (w["glossary"] if named & doc.terms else 0.0))
            if current and (doc.course, doc.lesson) == current:
                score += w["current"]
            ranked.append(Hit(self.passages[section], round(score, 4), section_scores[section]))
        ranked.sort(key=lambda hit: hit.score, reverse=True)
        return [hit for hit in ranked[:limit] if hit.score > 0]

    def on_topic(self, question: str, hits: list[Hit], min_score: float,
                 current: tuple[str, str] | None = None) -> bool:
        """A question the courses speak of: the best lesson uses most of the question's words, and either
        the question names a glossary or topic term, or a lesson text matches well, or it is a follow-up
        on the page's own lesson."""
        if not hits:
            return False
        raw = max(hit.raw for hit in hits)
        asked = set(morphology.stems(self.expand(question), self.lang))
        if asked & self.topic_terms and raw >= 1.0:
            return True
        top = hits[0].passage
        follow_up = current is not None and (top.course, top.lesson) == current
        return self.coverage(question, hits[0]) >= 0.6 and (raw >= min_score or follow_up)

    def coverage(self, question: str, hit: Hit) -> float:
        """Share of the question's words that the hit's lesson uses (a word counts when the lesson has a
        longer form of it): low when the lesson is off the point."""
        asked = set(morphology.stems(self.expand(question), self.lang))
        if not asked:
            return 0.0
        used = set()
        for passage in self.lesson_passages(hit.passage.course, hit.passage.lesson):
            used.update(morphology.stems(f"{passage.lesson_title} {passage.heading} {passage.text}", self.lang))
        covered = [stem for stem in asked
                   if stem in used or (len(stem) >= 4 and any(word.startswith(stem) for word in used))]
        return len(covered) / len(asked)

    def lesson_passages(self, course: str, lesson: str) -> list[Passage]:
        return [p for p in self.passages if (p.course, p.lesson) == (course, lesson)]

    # ------------------------------------------------------------------ what to show
    def _weighted(self, sentence: str, asked: set[str]) -> float:
        return sum(self._sections.idf.get(token, 0.0) for token in set(self.analyze(sentence)) & asked)

    def key_idea(self, course: str, lesson: str, question: str, count: int = 1, summary: bool = True) -> str:
        """The lesson's key ideas that speak most to the question (up to `count`, in the lesson's order).
        When none does but the question is the lesson's own (`summary`), its first key ideas; else ""."""
        ideas = [i.strip(" -•\t") for i in self.key_ideas.get((course, lesson), "").split("\n") if i.strip(" -•\t")]
        asked = set(self.analyze(self.expand(question)))
        answers = self._answers_kind(question)
        scored = sorted(((self._weighted(idea, asked) + (INTENT_IDEA if answers(idea) else 0.0), n)
                         for n, idea in enumerate(ideas)), reverse=True)
        chosen = sorted(n for score, n in scored[:count] if score > 0)
        if not chosen and summary and self._asks_about_lesson(course, lesson, asked):
            chosen = list(range(min(count, len(ideas))))  # the question is the lesson's own: its summary
        return " ".join(ideas[n] for n in chosen)

    def _answers_kind(self, question: str):
        """A test of whether a sentence answers the kind of question asked (always false for other kinds)."""
        folded = morphology.fold(question, self.lang)
        markers = [answer for asked, answer in (kinds[self.lang] for kinds in INTENTS.values()) if asked.search(folded)]
        return lambda sentence: bool(markers) and any(m.search(morphology.fold(sentence, self.lang)) for m in markers)

    def _asks_about_lesson(self, course: str, lesson: str, asked: set[str]) -> bool:
        """The question shares words with the lesson's title or one of its authors' questions (in other
        words than its key ideas use: "how to spot a deepfake" for the lesson "How to spot a fake")."""
        doc = next((d for d in self.lessons if (d.course, d.lesson) == (course, lesson)), None)
        if doc is None:
            return False
        own = set(self.analyze(" ".join([doc.title, *doc.questions])))
        return sum(self._sections.idf.get(t, 0.0) for t in own & asked) >= 2.0

    def best_part(self, passage: Passage, question: str, words: int | None = None) -> tuple[Passage, str]:
        """The section of `passage`'s lesson whose sentence speaks most to the question (its heading counts
        too; exercises weigh less), and that sentence with its neighbours, about `words` long, in order."""
        limit = words or EXCERPT_WORDS[self.lang]
        asked = set(self.analyze(self.expand(question)))
        answers = self._answers_kind(question)
        best = (-1.0, passage, [], 0)
        sections = self.lesson_passages(passage.course, passage.lesson) or [passage]
        headed = any(section.heading for section in sections)
        for section in sections:
            sentences = [s.strip() for s in SENTENCE.split(section.text) if s and s.strip()]
            context = 0.5 * self._weighted(section.heading, asked)
            weight = EXERCISE_WEIGHT if section.heading and EXERCISE.search(section.heading) else 1.0
            if section.heading and answers(section.heading):
                weight *= INTENT_WEIGHT
            if headed and not section.heading:
                weight = OPENING_WEIGHT
            for position, sentence in enumerate(sentences):
                score = (self._weighted(sentence, asked) + context) * weight
                if answers(sentence):
                    score *= INTENT_WEIGHT
                if score > best[0]:
                    best = (score, section, sentences, position)
        _score, section, sentences, top = best
        if not sentences:
            return passage, ""
        chosen, size = {top}, len(sentences[top].split())
        for step in range(1, len(sentences)):
            for i in (top + step, top - step):
                if 0 <= i < len(sentences) and i not in chosen and size + len(sentences[i].split()) <= limit:
                    chosen.add(i)
                    size += len(sentences[i].split())
            if size >= limit * 0.8:
                break
        chosen = self._whole_lists(sentences, sorted(chosen), limit + LIST_WORDS)
        cut = " ".join(sentences[i] for i in chosen).split()
        return section, " ".join(cut[:limit + LIST_WORDS]) + ("…" if len(cut) > limit + LIST_WORDS else "")

    @staticmethod
    def _whole_lists(sentences: list[str], chosen: list[int], limit: int) -> list[int]:
        """A sentence that opens a list ("It does three things:") comes with its items, or not at all."""
        result: list[int] = []
        for i in chosen:
            if i in result:
                continue
            if sentences[i][:1].islower() and i - 1 not in result:
                continue  # an item of a list whose opening is not shown
            result.append(i)
            if not sentences[i].endswith(":"):
                continue
            items = []
            for j in range(i + 1, len(sentences)):
                items.append(j)
                if not sentences[j].endswith((";", ",", ":")):
                    break
            size = sum(len(sentences[k].split()) for k in [*result, *items])
            if items and size <= limit and not sentences[items[-1]].endswith((";", ",", ":")):
                result += [k for k in items if k not in result]
            else:
                result.remove(i)  # the list does not fit: its opening alone says nothing
        return sorted(result) or chosen

    def excerpt(self, passage: Passage, question: str, words: int | None = None) -> str:
        return self.best_part(passage, question, words)[1]

    def vocabulary(self) -> set[str]:
        """Every stem the lessons and the glossary of this language use: what real text here looks like."""
        if self._vocabulary is None:
            found = set()
            for doc in self.lessons:
                for text in (doc.title, doc.key_ideas, *doc.questions, *(s.text for s in doc.sections)):
                    found.update(morphology.stems(text, self.lang))
            for entry in self.glossary:
                found.update(morphology.stems(f"{entry.term} {entry.definition}", self.lang))
            self._vocabulary = found
        return self._vocabulary
