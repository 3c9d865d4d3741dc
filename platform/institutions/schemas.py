"""JSON shapes of the classes, teacher-confirmation and course-adoption API."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TeacherOut(BaseModel):
    id: int
    username: str
    display_name: str
    institution_id: int | None
    institution: str | None
    created_at: datetime
    teacher_confirmed_at: datetime | None


class ClassIn(BaseModel):
    name: str = Field(max_length=200)
    group: str | None = Field(default=None, max_length=200)
    language: Literal["kk", "ru"] | None = None
    institution_id: int | None = Field(default=None, description="From the directory; left out: the teacher's "
                                                                  "institution; null: none")


class ClassOut(BaseModel):
    id: int
    name: str
    group: str | None
    language: str
    join_code: str
    archived_at: datetime | None
    institution_id: int | None = None
    institution: str | None = Field(default=None, description="Its name in the language asked for")


class JoinIn(BaseModel):
    code: str = Field(max_length=100)


class AssignmentIn(BaseModel):
    course: str = Field(max_length=200)
    module: str | None = Field(default=None, max_length=200)
    quiz: str | None = Field(default=None, max_length=200)
    due: datetime | None = Field(default=None, description="A zone-less date and time is read as Almaty time")


class AssignmentOut(BaseModel):
    id: int
    class_id: int
    course: str
    module: str | None
    quiz: str | None
    title: str
    due: datetime | None = Field(description="UTC")
    due_local: str | None = Field(description="Asia/Almaty time, YYYY-MM-DD HH:MM")
    created_at: datetime


class CellOut(BaseModel):
    assignment_id: int
    state: Literal["not_started", "in_progress", "done", "done_late", "overdue"]
    best_score: float | None
    attempts: int
    done_at: datetime | None
    seconds_spent: int = Field(description="An estimate: lesson reading (at most 20 min a lesson) and quiz attempts "
                                           "(at most 30 min each)")
    minutes_spent: int = Field(description="seconds_spent in whole minutes, as the page and the CSV show it")


class GradebookRowOut(BaseModel):
    learner_id: int
    username: str
    display_name: str
    stuck: bool
    stuck_reasons: list[str]
    last_activity: datetime | None
    seconds_spent: int = Field(description="Estimated time on all the class's assignments, each lesson and "
                                           "attempt counted once")
    minutes_spent: int
    cells: list[CellOut]


class GradebookOut(BaseModel):
    class_id: int
    learners: int = Field(description="Learners in the class, before filters")
    assignments: list[AssignmentOut]
    rows: list[GradebookRowOut]


class MyAssignmentOut(BaseModel):
    class_id: int
    class_name: str
    assignment: AssignmentOut
    state: Literal["not_started", "in_progress", "done", "done_late", "overdue"]
    best_score: float | None
    attempts: int
    url: str


class AdoptionIn(BaseModel):
    course: str = Field(max_length=60)
    programme: str = Field(max_length=200)  # the programme or discipline the course is taught in
    since: date


class AdoptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    institution_id: int
    course_slug: str
    programme: str
    since: date
    recorded_at: datetime


class TeacherInviteIn(BaseModel):
    name: str = Field(max_length=80)


class TeacherInvitedOut(BaseModel):
    user_id: int
    name: str
    username: str
    first_time_code: str  # shown once: the teacher signs in with it at /{lang}/start and chooses a password
