"""Course structure (loaded from courses/content) and learners' progress.

Texts are stored per language in JSON columns ({"kk": ..., "ru": ...}). Rows removed from
the sources are marked `retired` rather than deleted, so learners' progress is never lost.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from gennation.platform import personal_data
from gennation.platform.database import utcnow


class QuestionKind(StrEnum):
    single = "single"
    multiple = "multiple"
    true_false = "true_false"
    numeric = "numeric"
    ordering = "ordering"


class Course(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True, index=True)
    position: int = 0
    audience: str = Field(max_length=20)
    pass_mark: int = 70
    hours: int = 0  # study hours, stated on certificates
    completion: str = Field(default="all_steps", max_length=20)  # see courses.source.COMPLETIONS
    title: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    content_version: str = Field(max_length=64)
    retired: bool = False
    updated_at: datetime = Field(default_factory=utcnow)


class Module(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("course_id", "slug"),)
    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", ondelete="CASCADE", index=True)
    slug: str = Field(max_length=60)
    position: int = 0
    title: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    retired: bool = False


class Lesson(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("module_id", "slug"),)
    id: int | None = Field(default=None, primary_key=True)
    module_id: int = Field(foreign_key="module.id", ondelete="CASCADE", index=True)
    slug: str = Field(max_length=60)
    position: int = 0
    title: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body_html: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body_text: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    key_ideas: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    retired: bool = False


class Quiz(SQLModel, table=True):
    """A module quiz, or a course's final exam (module_id empty) drawn from a larger bank."""

    __table_args__ = (UniqueConstraint("course_id", "slug"),)
    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", ondelete="CASCADE", index=True)
    module_id: int | None = Field(default=None, foreign_key="module.id", ondelete="CASCADE")
    slug: str = Field(max_length=80)
    pass_mark: int = 70
    draw: int | None = None
    retired: bool = False


class Question(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("quiz_id", "slug"),)
    id: int | None = Field(default=None, primary_key=True)
    quiz_id: int = Field(foreign_key="quiz.id", ondelete="CASCADE", index=True)
    slug: str = Field(max_length=80)
    position: int = 0
    kind: QuestionKind
    # The answer key; never sent to a browser before the attempt is graded.
    key: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # {"kk": {"prompt", "options": [{id, text, explanation}], "items": [...], "explanation", "unit"}}
    text: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The module a final-exam question tests: named as a topic to review when the question is missed.
    module_slug: str | None = Field(default=None, max_length=60)
    retired: bool = False


class Enrollment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    course_id: int = Field(foreign_key="course.id", ondelete="CASCADE", index=True)
    enrolled_at: datetime = Field(default_factory=utcnow)
    last_lesson_id: int | None = Field(default=None, foreign_key="lesson.id", ondelete="SET NULL")
    # When the last lesson was opened (not on a reload of a read one): where its reading time starts.
    last_opened_at: datetime | None = None
    completed_at: datetime | None = None


class LessonProgress(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    lesson_id: int = Field(foreign_key="lesson.id", ondelete="CASCADE", index=True)
    read_at: datetime = Field(default_factory=utcnow)
    # An estimate: from opening the lesson to "I have read this lesson", capped (a tab left open is not
    # hours of reading); 0 when the opening was not seen (read through the API, or before enrolling).
    seconds: int = Field(default=0)


class QuizAttempt(SQLModel, table=True):
    """Created when a learner opens a quiz (questions drawn then); graded when submitted."""

    # One open attempt per learner and quiz: parallel requests cannot open several attempts at a final
    # exam at once (and compare their scores) past its cool-down and daily limit.
    __table_args__ = (Index("uq_quizattempt_open", "user_id", "quiz_id", unique=True,
                            sqlite_where=text("graded_at IS NULL"), postgresql_where=text("graded_at IS NULL")),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    quiz_id: int = Field(foreign_key="quiz.id", ondelete="CASCADE", index=True)
    question_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The order shown, drawn when the attempt opens: {question slug: [[token, option or item id], ...]}.
    # Learners see and answer with the random tokens only, so neither position nor id gives the key away.
    layout: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    answers: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    results: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    score: float | None = None
    passed: bool | None = None
    started_at: datetime = Field(default_factory=utcnow)
    graded_at: datetime | None = None


class CourseCompletion(SQLModel, table=True):
    """Recorded once when a learner completes a course; certificates are issued from these."""

    __table_args__ = (UniqueConstraint("user_id", "course_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    course_id: int = Field(foreign_key="course.id", ondelete="CASCADE", index=True)
    content_version: str = Field(max_length=64)
    score: float | None = None
    hours: int = 0  # the course's hours when it was completed: what the certificate states
    completed_at: datetime = Field(default_factory=utcnow)


personal_data.holds("enrollments", Enrollment, Enrollment.user_id)
personal_data.holds("lessons_read", LessonProgress, LessonProgress.user_id)
personal_data.holds("quiz_attempts", QuizAttempt, QuizAttempt.user_id)
personal_data.holds("course_completions", CourseCompletion, CourseCompletion.user_id)
