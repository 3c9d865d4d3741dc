"""State agencies and the course they require of their staff.

An agency is an `Institution` of kind state_body. Its coordinators (appointed by an admin) keep its staff
list by department, make a course mandatory with a deadline, and read how far each department is.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from gennation.platform import personal_data
from gennation.platform.database import utcnow


class Employee(SQLModel, table=True):
    """A person on an agency's staff list. The coordinators see their results only once `confirmed_at` is
    set: at once for an account the agency made, on acceptance for someone who already had an account."""

    __table_args__ = (UniqueConstraint("institution_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    department: str = Field(max_length=200, index=True)
    added_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    added_at: datetime = Field(default_factory=utcnow)
    confirmed_at: datetime | None = None


class Mandate(SQLModel, table=True):
    """A course an agency requires of every employee, by a deadline (UTC; the end of a day in Almaty)."""

    __table_args__ = (UniqueConstraint("institution_id", "course_slug"),)
    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", ondelete="CASCADE", index=True)
    course_slug: str = Field(max_length=60)
    deadline: datetime
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Reminder(SQLModel, table=True):
    """A coordinator reminded an employee that a mandatory course is not done. Shown on the employee's home
    page; `emailed_at` stays empty until reminders are also sent by e-mail (the list to send them from)."""

    __table_args__ = (UniqueConstraint("mandate_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    mandate_id: int = Field(foreign_key="mandate.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    times: int = 1
    last_at: datetime = Field(default_factory=utcnow)
    emailed_at: datetime | None = None


personal_data.holds("agency_staff_records", Employee, Employee.user_id)
personal_data.holds("agency_reminders", Reminder, Reminder.user_id)
personal_data.holds("agency_mandates_set", Mandate, Mandate.created_by)
