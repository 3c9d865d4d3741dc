from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from gennation.platform import personal_data
from gennation.platform.database import utcnow


class InstitutionKind(StrEnum):
    school = "school"
    college = "college"  # TVET
    university = "university"
    state_body = "state_body"
    other = "other"


class Institution(SQLModel, table=True):
    """A school, college, university or state body that people can belong to.

    `has_ai_programme` feeds the indicator "share of universities and colleges with AI programmes".
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    kind: InstitutionKind
    region: str = Field(max_length=40)
    has_ai_programme: bool = False


class Classroom(SQLModel, table=True):
    """A teacher's class. Learners join with its code; once the teacher is confirmed, they see the
    learners' tutor conversations from the day each joined."""

    id: int | None = Field(default=None, primary_key=True)
    teacher_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=80)
    join_code: str = Field(max_length=12, unique=True, index=True)


class ClassMember(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("classroom_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    classroom_id: int = Field(foreign_key="classroom.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    # The teacher sees nothing from before this moment; leaving deletes the row, and with it the view.
    joined_at: datetime = Field(default_factory=utcnow)


class Coordinator(SQLModel, table=True):
    """A confirmed teacher whom an admin made coordinator of their institution: they confirm the
    teachers who registered with that institution."""

    __table_args__ = (UniqueConstraint("institution_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    appointed_at: datetime = Field(default_factory=utcnow)


personal_data.holds("classes_taught", Classroom, Classroom.teacher_id)
personal_data.holds("class_memberships", ClassMember, ClassMember.user_id)
personal_data.holds("institutions_coordinated", Coordinator, Coordinator.user_id)
