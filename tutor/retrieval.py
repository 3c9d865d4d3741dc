"""Finding the lesson passages that answer a question: BM25 over the lesson texts of one language."""
from __future__ import annotations

import re
from dataclasses import dataclass

from rank_bm25 import BM25Okapi
from sqlmodel import Session, select

from gennation.courses.models import Course, Lesson, Module

WORD = re.compile(r"\w+")
PASSAGE_WORDS = 60
CURRENT_LESSON_BOOST = 1.6
# Question words carry no topic: without them "What is the capital of France?" finds no lesson.
STOPWORDS = set("""
что как какой какая какое какие почему зачем где когда кто чем это эта этот эти ли же не ни и а но или
в во на с со к ко по о об от до из у за для при про без над под так такое такой есть был была было быть
мне меня мой моя тебе ты вы вас ваш скажи расскажи объясни можно нужно надо очень такое значит
не деген қалай қандай неге неліктен қайда қашан кім қанша бұл осы сол мен сен сіз және немесе бірақ да де
та те ма ме ба бе па пе ғой үшін туралы маған саған айтшы түсіндірші түсіндіріңіз айтыңыз бар жоқ ол
what how why who which is are the a an of to in on and or for about explain tell me
""".split())


# Course topics beyond the glossary: abbreviations and everyday names for AI.
TOPIC_WORDS = ["ЖИ", "ИИ", "AI", "нейрожелі", "нейросеть", "чат-бот", "чатбот", "робот", "бот", "ChatGPT"]


def terms(text: str) -> list[str]:
    """Words cut to a short stem: Kazakh and Russian change word endings a lot, stems stay."""
    return [word[:5] for word in WORD.findall(text.casefold()) if len(word) > 1 and word not in STOPWORDS]


@dataclass(frozen=True)
class Passage:
    course: str
    course_title: str
    lesson: str
    lesson_title: str
    text: str

    @property
    def url_path(self) -> str:
        return f"courses/{self.course}/lessons/{self.lesson}"


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


def split_passages(text: str, size: int = PASSAGE_WORDS) -> list[str]:
    """Paragraph-aligned chunks of about `size` words."""
    chunks, current = [], []
    for paragraph in (p.strip() for p in text.split("\n")):
        if not paragraph:
            continue
        current.append(paragraph)
        if sum(len(p.split()) for p in current) >= size:
            chunks.append(" ".join(current))
            current = []
    if current:
        chunks.append(" ".join(current))
    return chunks


class LessonIndex:
    """All passages of one content language, searchable by BM25."""

    def __init__(self, passages: list[Passage], key_ideas: dict[tuple[str, str], str] | None = None,
                 topic_terms: set[str] | None = None):
        self.passages = passages
        self.key_ideas = key_ideas or {}
        self.topic_terms = topic_terms or set()
        self._bm25 = BM25Okapi([terms(p.lesson_title + " " + p.text) for p in passages]) if passages else None

    @classmethod
    def build(cls, session: Session, lang: str, glossary_terms: list[str] = ()) -> "LessonIndex":
        rows = session.exec(
            select(Course.slug, Course.title, Lesson.slug, Lesson.title, Lesson.body_text, Lesson.key_ideas)
            .join(Module, Module.id == Lesson.module_id).join(Course, Course.id == Module.course_id)
            .where(Course.retired == False, Module.retired == False, Lesson.retired == False)  # noqa: E712
            .order_by(Course.position, Module.position, Lesson.position)).all()
        passages = [Passage(course, course_title.get(lang, ""), lesson, lesson_title.get(lang, ""), chunk)
                    for course, course_title, lesson, lesson_title, body, _ in rows
                    for chunk in split_passages(body.get(lang, ""))]
        ideas = {(course, lesson): key.get(lang, "") for course, _, lesson, _, _, key in rows}
        topic = {stem for term in [*glossary_terms, *TOPIC_WORDS] for stem in terms(term)}
        return cls(passages, ideas, topic)

    def search(self, question: str, current: tuple[str, str] | None = None, limit: int = 3) -> list[Hit]:
        """Best passages for `question`; the current lesson (course, lesson) weighs more."""
        if self._bm25 is None:
            return []
        scores = self._bm25.get_scores(terms(question))
        ranked = []
        for passage, score in zip(self.passages, scores):
            if current and (passage.course, passage.lesson) == current:
                score *= CURRENT_LESSON_BOOST
            ranked.append(Hit(passage, float(score)))
        ranked.sort(key=lambda hit: hit.score, reverse=True)
        return [hit for hit in ranked[:limit] if hit.score > 0]

    def on_topic(self, question: str, hits: list[Hit], min_score: float) -> bool:
        """A question the courses speak of: a lesson matches well, and either the question names a
        glossary term or the lesson uses nearly all of its words."""
        if not hits or hits[0].score < min_score:
            return False
        return bool(set(terms(question)) & self.topic_terms) or self.coverage(question, hits[0]) >= 0.8

    def coverage(self, question: str, hit: Hit) -> float:
        """Share of the question's words that the hit's lesson uses: low when the lesson is off the point."""
        asked = set(terms(question))
        if not asked:
            return 0.0
        lesson_terms = set()
        for passage in self.lesson_passages(hit.passage.course, hit.passage.lesson):
            lesson_terms.update(terms(passage.lesson_title + " " + passage.text))
        return len(asked & lesson_terms) / len(asked)

    def lesson_passages(self, course: str, lesson: str) -> list[Passage]:
        return [p for p in self.passages if (p.course, p.lesson) == (course, lesson)]
