"""API shapes of the tutor."""
from __future__ import annotations

from pydantic import BaseModel, Field


class AskIn(BaseModel):
    question: str
    lang: str = "kk"
    lesson: str | None = Field(default=None, description="lesson id, or 'course/lesson'")
    course: str | None = None
    quiz: str | None = Field(default=None, description="quiz id on that course: hints only while an attempt is open")


class SourceOut(BaseModel):
    course: str
    course_title: str
    lesson: str
    lesson_title: str
    url: str


class AskOut(BaseModel):
    answer: str
    lang: str
    kind: str
    sources: list[SourceOut]
    ai_generated: bool = True
    conversation_id: int
    message_id: int
    personal_data_warning: list[str] = Field(default_factory=list)


class RatingIn(BaseModel):
    helpful: bool
    comment: str = Field(default="", max_length=500)
