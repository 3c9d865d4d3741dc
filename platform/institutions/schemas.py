"""JSON shapes of the classes and teacher-confirmation API."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class TeacherOut(BaseModel):
    id: int
    username: str
    display_name: str
    institution_id: int | None
    institution: str | None
    created_at: datetime
    teacher_confirmed_at: datetime | None
