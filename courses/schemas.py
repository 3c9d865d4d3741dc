"""API shapes of the course engine. Answer keys never appear in a shape sent before grading."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CourseCountsOut(BaseModel):
    modules: int
    lessons: int
    questions: int
    words: int


class CourseOut(BaseModel):
    slug: str
    title: str
    summary: str
    audience: str
    counts: CourseCountsOut
    progress_percent: int | None = None


class LessonRef(BaseModel):
    slug: str
    title: str
    read: bool
    url: str


class ModuleOut(BaseModel):
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


class LessonOut(BaseModel):
    course: str
    slug: str
    title: str
    html: str
    read: bool


class QuestionOut(BaseModel):
    id: str
    kind: str
    prompt: str
    options: list[dict]
    unit: str = ""


class AttemptOut(BaseModel):
    attempt_id: int
    quiz: str
    questions: list[QuestionOut]


class AnswersIn(BaseModel):
    """{question id: answer}: an option id, a list of option ids, a number, or item ids in order."""

    answers: dict[str, Any] = Field(default_factory=dict)


class FeedbackOut(BaseModel):
    id: str
    correct: bool
    given: Any
    key: dict
    explanation: str
    options: list[dict]


class GradedOut(BaseModel):
    attempt_id: int
    score: float
    passed: bool
    pass_mark: int
    feedback: list[FeedbackOut]


class ProgressOut(BaseModel):
    course: str
    percent: int
    completed: bool
    resume_lesson: str | None
