from __future__ import annotations

from enum import StrEnum

from sqlmodel import Field, SQLModel


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
