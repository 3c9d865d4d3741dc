from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class MandateIn(BaseModel):
    course: str = Field(max_length=60, examples=["ai-civil-service"])
    deadline: date  # the course is due by the end of this day, Almaty time


class MandateOut(BaseModel):
    id: int
    agency_id: int
    course: str
    deadline: datetime  # UTC: the end of the deadline day in Almaty


class StaffRowError(BaseModel):
    line: int
    column: str
    message: str


class NewAccountOut(BaseModel):
    user_id: int
    name: str
    username: str
    department: str
    first_time_code: str  # shown once: the person signs in with it at /{lang}/start and chooses a password


class StaffOut(BaseModel):
    """A dry run (nothing written) or an import of a staff file."""

    dry_run: bool
    errors: list[StaffRowError] = []
    new_accounts: int = 0
    existing_accounts: int = 0
    unchanged: int = 0
    accounts: list[NewAccountOut] = []
    invited: int = 0
    moved: int = 0


class DepartmentOut(BaseModel):
    department: str
    employees: int
    done: int
    done_late: int
    in_progress: int
    overdue: int
    not_started: int
    exam_taken: int
    exam_passed: int
    average_score: float | None


class PersonOut(BaseModel):
    user_id: int
    name: str
    username: str
    department: str
    state: str
    completed_at: datetime | None
    best_score: float | None
    attempts: int
    reminded: int


class ReportOut(BaseModel):
    agency_id: int
    mandate_id: int
    course: str
    deadline: datetime
    departments: list[DepartmentOut]
    total: DepartmentOut
    awaiting_acceptance: int
    overdue: list[PersonOut]  # the first 200; the CSV holds everyone
    overdue_count: int


class RemindedOut(BaseModel):
    reminded: int


class MyMandateOut(BaseModel):
    agency_id: int
    agency: str
    course: str
    title: str
    deadline: datetime
    state: str
    reminded_at: datetime | None


class AgencyInvitationOut(BaseModel):
    id: int
    agency_id: int
    agency: str
    department: str


class InvitationAnswer(BaseModel):
    accept: bool


class CoordinatorIn(BaseModel):
    username: str = Field(max_length=40)


class CoordinatorOut(BaseModel):
    institution_id: int
    user_id: int
    username: str
