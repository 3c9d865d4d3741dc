"""API shapes of the course engine. Answer keys never appear in a shape sent before grading."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Shape(BaseModel):
    """API shapes are read from the domain objects' attributes (`Shape.model_validate(obj)`)."""

    model_config = ConfigDict(from_attributes=True)


class CourseCountsOut(Shape):
    modules: int
    lessons: int
    questions: int
    words: int


class CourseOut(Shape):
    slug: str
    title: str
    summary: str
    audience: str
    counts: CourseCountsOut
    progress_percent: int | None = None


class LessonRef(Shape):
    slug: str
    title: str
    read: bool
    url: str


class ModuleOut(Shape):
    slug: str
    title: str
    summary: str
    lessons: list[LessonRef]
    quiz: str | None
    quiz_passed: bool
    completed: bool


class CourseDetailOut(CourseOut):
    enrolled: bool
    completed: bool
    modules: list[ModuleOut]
    final_exam: str | None


class LessonOut(Shape):
    course: str
    slug: str
    title: str
    html: str
    read: bool


class QuestionOut(Shape):
    id: str
    kind: str
    prompt: str
    options: list[dict]
    unit: str = ""


class AttemptOut(Shape):
    attempt_id: int
    quiz: str
    questions: list[QuestionOut]


class AnswersIn(BaseModel):
    """{question id: answer}: an option's id, a list of option ids, a number, or item ids in order: the
    ids the attempt gave its options (they differ in every attempt). A true/false question also takes
    true or false."""

    answers: dict[str, Any] = Field(default_factory=dict)


class FeedbackOut(Shape):
    id: str
    correct: bool
    given: Any
    key: dict
    explanation: str
    options: list[dict]


class GradedOut(Shape):
    attempt_id: int
    score: float
    passed: bool
    pass_mark: int
    feedback: list[FeedbackOut] = Field(description="Each question with its key; empty for a final exam "
                                                    "until it is passed")
    review: list[str] = Field(default_factory=list, description="Modules whose questions were missed")
    next_attempt_in: int | None = Field(default=None, description="Seconds until a final exam can be taken again")


class ProgressOut(Shape):
    course: str
    percent: int
    completed: bool
    resume_lesson: str | None
