"""The course catalogue as a read model: what every course page needs, built once per content version.

Modules, lessons (titles and bodies), quizzes with their questions, and counts, in both languages,
are read from the database in five queries when a process first needs them, and kept until a course
is loaded with a new content version (`gennation courses load`, in any process). A request then pays
one small query to learn the current versions. The objects are frozen: shared between threads, never
attached to a session.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from time import monotonic
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from gennation.courses.models import Course, Lesson, Module, Question, QuestionKind, Quiz
from gennation.courses.source import WORD_RE
from gennation.platform.errors import NotFound


def _first(items, matches):
    """The first of `items` that `matches`, or NotFound (the one not-found rule of the read model)."""
    found = next((item for item in items if matches(item)), None)
    if found is None:
        raise NotFound
    return found


@dataclass(frozen=True)
class QuestionItem:
    id: int
    slug: str
    kind: QuestionKind
    key: dict
    text: dict
    module: str | None = None  # slug of the module a final-exam question tests

    @classmethod
    def of(cls, q: Question) -> "QuestionItem":
        return cls(q.id, q.slug, q.kind, q.key, q.text, q.module_slug)

    @property
    def choices(self) -> list[str]:
        """The ids of its options or ordering items, as authored (none for a numeric question)."""
        text = next(iter(self.text.values()))
        return [choice["id"] for choice in text.get("options") or text.get("items") or []]


@dataclass(frozen=True)
class QuizOutline:
    id: int
    slug: str
    course_id: int
    module_id: int | None
    pass_mark: int
    draw: int | None
    questions: tuple[QuestionItem, ...]

    @property
    def is_final_exam(self) -> bool:
        return self.module_id is None


@dataclass(frozen=True)
class LessonOutline:
    id: int
    slug: str
    module_id: int
    title: dict
    body_html: dict = field(repr=False)


@dataclass(frozen=True)
class ModuleOutline:
    id: int
    slug: str
    title: dict
    summary: dict
    lessons: tuple[LessonOutline, ...]
    quiz: QuizOutline | None


@dataclass(frozen=True)
class CourseCounts:
    modules: int
    lessons: int
    questions: int
    words: dict[str, int]


@dataclass(frozen=True)
class CourseOutline:
    id: int
    slug: str
    position: int
    audience: str
    pass_mark: int
    title: dict
    summary: dict
    content_version: str
    modules: tuple[ModuleOutline, ...]
    final_exam: QuizOutline | None
    counts: CourseCounts
    hours: int = 0
    completion: str = "all_steps"

    @property
    def lessons(self) -> tuple[LessonOutline, ...]:
        """Every lesson in reading order."""
        return tuple(lesson for module in self.modules for lesson in module.lessons)

    @property
    def quizzes(self) -> tuple[QuizOutline, ...]:
        module_quizzes = tuple(m.quiz for m in self.modules if m.quiz)
        return module_quizzes + ((self.final_exam,) if self.final_exam else ())

    def lesson(self, slug: str) -> LessonOutline:
        return _first(self.lessons, lambda lesson: lesson.slug == slug)

    def quiz(self, slug: str) -> QuizOutline:
        return _first(self.quizzes, lambda quiz: quiz.slug == slug)

    def quiz_with_id(self, quiz_id: int) -> QuizOutline:
        return _first(self.quizzes, lambda quiz: quiz.id == quiz_id)

    def module(self, module_id: int | None) -> ModuleOutline | None:
        return next((m for m in self.modules if m.id == module_id), None)


@dataclass(frozen=True)
class Catalogue:
    """Every live course, in catalogue order, for one set of content versions."""

    version: tuple[tuple[int, str], ...]
    courses: tuple[CourseOutline, ...]

    @property
    def tag(self) -> str:
        """A short stable name of this content, for ETags."""
        return ".".join(f"{course_id}-{version[:12]}" for course_id, version in self.version)

    def course(self, slug: str) -> CourseOutline:
        return _first(self.courses, lambda course: course.slug == slug)

    def quiz_by_id(self, quiz_id: int) -> QuizOutline:
        return self.course_of_quiz(quiz_id).quiz_with_id(quiz_id)

    def course_of_quiz(self, quiz_id: int) -> CourseOutline:
        return _first(self.courses, lambda course: any(quiz.id == quiz_id for quiz in course.quizzes))

    def question(self, question_id: int) -> QuestionItem | None:
        return self._questions.get(question_id)

    @cached_property
    def _questions(self) -> dict[int, QuestionItem]:
        return {q.id: q for course in self.courses for quiz in course.quizzes for q in quiz.questions}


def _live(model: Any):
    return model.retired == False  # noqa: E712


def current_version(session: Session) -> tuple[tuple[int, str], ...]:
    return tuple(session.exec(select(Course.id, Course.content_version).where(_live(Course))
                              .order_by(Course.position, Course.id)).all())


def build(session: Session, version: tuple[tuple[int, str], ...]) -> Catalogue:
    """Read every live course into frozen objects (five queries, whatever the number of courses)."""
    course_ids = [course_id for course_id, _ in version]
    if not course_ids:
        return Catalogue(version, ())
    courses = session.exec(select(Course).where(Course.id.in_(course_ids))).all()
    modules = session.exec(select(Module).where(Module.course_id.in_(course_ids), _live(Module))
                           .order_by(Module.position)).all()
    lessons = session.exec(select(Lesson.id, Lesson.slug, Lesson.module_id, Lesson.title, Lesson.body_html,
                                  Lesson.body_text).join(Module)
                           .where(Module.course_id.in_(course_ids), _live(Module), _live(Lesson))
                           .order_by(Lesson.position)).all()
    quizzes = session.exec(select(Quiz).where(Quiz.course_id.in_(course_ids), _live(Quiz))).all()
    questions = session.exec(select(Question).join(Quiz).where(Quiz.course_id.in_(course_ids), _live(Quiz),
                                                               _live(Question)).order_by(Question.position)).all()

    questions_of: dict[int, list[QuestionItem]] = {}
    for q in questions:
        questions_of.setdefault(q.quiz_id, []).append(QuestionItem.of(q))
    quiz_outlines = {q.id: QuizOutline(q.id, q.slug, q.course_id, q.module_id, q.pass_mark, q.draw,
                                       tuple(questions_of.get(q.id, ()))) for q in quizzes}
    lessons_of: dict[int, list[LessonOutline]] = {}
    words: dict[int, dict[str, int]] = {}
    module_course = {m.id: m.course_id for m in modules}
    for lesson_id, slug, module_id, title, body_html, body_text in lessons:
        lessons_of.setdefault(module_id, []).append(LessonOutline(lesson_id, slug, module_id, title, body_html))
        counted = words.setdefault(module_course[module_id], {"kk": 0, "ru": 0})
        for lang in counted:
            counted[lang] += len(WORD_RE.findall(body_text.get(lang, "")))

    outlines = []
    by_id = {c.id: c for c in courses}
    for course_id in course_ids:
        course = by_id[course_id]
        module_quiz = {q.module_id: q for q in quiz_outlines.values() if q.course_id == course_id and q.module_id}
        module_outlines = tuple(
            ModuleOutline(m.id, m.slug, m.title, m.summary, tuple(lessons_of.get(m.id, ())), module_quiz.get(m.id))
            for m in modules if m.course_id == course_id)
        final = next((q for q in quiz_outlines.values() if q.course_id == course_id and q.module_id is None), None)
        course_quizzes = [q for q in quiz_outlines.values() if q.course_id == course_id]
        counts = CourseCounts(len(module_outlines), sum(len(m.lessons) for m in module_outlines),
                              sum(len(q.questions) for q in course_quizzes),
                              words.get(course_id, {"kk": 0, "ru": 0}))
        outlines.append(CourseOutline(course.id, course.slug, course.position, course.audience, course.pass_mark,
                                      course.title, course.summary, course.content_version, module_outlines,
                                      final, counts, course.hours, course.completion))
    return Catalogue(version, tuple(outlines))


# One catalogue per database engine (tests run many databases in one process), rebuilt on a new version,
# with the moment its version was last read.
_cache: "weakref.WeakKeyDictionary[Engine, tuple[Catalogue, float]]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def catalogue(session: Session) -> Catalogue:
    """The current catalogue: one query per unit of work when the cached one is still current, none when
    its version was read less than `session.info["content_recheck"]` seconds ago (the web app's sessions
    carry the page cache's lifetime: a content reload reaches pages within it, signed in or not)."""
    if "catalogue" in session.info:
        return session.info["catalogue"]
    engine = session.get_bind()
    cached, checked = _cache.get(engine, (None, 0.0))
    now = monotonic()
    if cached is None or now - checked >= session.info.get("content_recheck", 0):
        version = current_version(session)
        if cached is None or cached.version != version:
            cached = build(session, version)
        with _lock:
            _cache[engine] = (cached, now)
    session.info["catalogue"] = cached
    return cached
