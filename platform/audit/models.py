"""The audit log: every action of an admin, organiser, coordinator or teacher that changes someone else's
data, or data everyone relies on (the directory, the courses, a tournament's rules).

A row is written by `audit.service.record` in the unit of work of the change itself, so the log and the
data never disagree: a rolled-back request leaves no row, and no change lands without one.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from gennation.platform import personal_data
from gennation.platform.database import utcnow


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)  # UTC
    # Who acted; None for an operator at the command line or a background job they started. Kept (as None)
    # when the account is deleted: what was done stays in the log.
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    # The role or grant the action was taken under, as it was then: "admin", "organiser", "teacher",
    # "coordinator:12" (of institution 12), "operator".
    actor_role: str = Field(max_length=60)
    action: str = Field(max_length=60, index=True)  # a stable dotted name: "class.learner_removed"
    affected_user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    object_type: str = Field(max_length=40)  # "classroom", "certificate", "stage", ...
    object_id: str = Field(default="", max_length=64)
    # A few facts about the change (from and to, counts, a reason): never a password, code or token.
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    request_id: str | None = Field(default=None, max_length=128)


def _about_me(row: AuditEvent) -> dict:
    return row.model_dump(mode="json", exclude={"actor_id", "request_id"})


def _by_me(row: AuditEvent) -> dict:
    return row.model_dump(mode="json", exclude={"affected_user_id", "detail", "request_id"})


# "Download my data" holds two parts of the log. What was done to the person (they are the affected user):
# that is processing of their data, which they have the right to know, with the role that did it, but not
# the staff member's account (that is the staff member's data; the platform answers for its staff). And
# what the person did as an admin, organiser, coordinator or teacher: a record of their own conduct,
# without whom it touched or the details (those are the other people's data).
personal_data.holds("audit_about_me", AuditEvent, AuditEvent.affected_user_id, dump=_about_me)
personal_data.holds("audit_my_actions", AuditEvent, AuditEvent.actor_id, dump=_by_me)
