"""Tutor conversations, kept so that learners can look back, rate answers, and people stay in charge."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel, select

from gennation.platform import personal_data
from gennation.platform.database import utcnow


class AnswerKind(StrEnum):
    answer = "answer"  # the model's answer, checked
    fallback = "fallback"  # the model drifted: a quote from the lesson instead
    hint = "hint"  # the model gave away a quiz key: replaced by a hint
    refusal = "refusal"  # off-topic, harmful or rule-changing request


class Conversation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    course: str | None = Field(default=None, max_length=60)
    lesson: str | None = Field(default=None, max_length=60)
    quiz: str | None = Field(default=None, max_length=80)
    created_at: datetime = Field(default_factory=utcnow)


class TutorMessage(SQLModel, table=True):
    """One question (role "learner") or answer (role "tutor"). Personal data is masked before storing."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=10)
    reply_to_id: int | None = Field(default=None, foreign_key="tutormessage.id", ondelete="CASCADE", unique=True)
    text: str
    lang: str = Field(max_length=2)
    kind: AnswerKind | None = None
    sources: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    personal_data: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cut_off: bool = False  # the learner left while it was written: the text is what they had seen
    ttft_ms: float | None = None
    total_ms: float | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)


class AnswerRating(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="tutormessage.id", ondelete="CASCADE", index=True, unique=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    helpful: bool
    comment: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class TeacherCorrection(SQLModel, table=True):
    """A teacher marks a tutor answer as wrong; the learner sees the correction beside it."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="tutormessage.id", ondelete="CASCADE", index=True, unique=True)
    teacher_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    correction: str = Field(max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)


personal_data.holds("tutor_conversations", Conversation, Conversation.user_id)
personal_data.holds("tutor_messages", TutorMessage, rows=lambda user_id: select(TutorMessage).join(Conversation).where(
    Conversation.user_id == user_id).order_by(TutorMessage.id))
personal_data.holds("tutor_ratings", AnswerRating, AnswerRating.user_id)
personal_data.holds("tutor_corrections_written", TeacherCorrection, TeacherCorrection.teacher_id)
personal_data.holds("tutor_corrections_received", TeacherCorrection, rows=lambda user_id: select(TeacherCorrection)
                    .join(TutorMessage).join(Conversation).where(Conversation.user_id == user_id)
                    .order_by(TeacherCorrection.id))
