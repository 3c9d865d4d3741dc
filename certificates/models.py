"""Certificates: what was issued, frozen at issue time, and what happened to each one since.

Every printed field (holder name, titles, hours, date, issuer) is copied into the row when the
certificate is issued, so a later profile or course change never changes an issued certificate; a
name correction is a re-issue (a new row, and the old one's `replaced_by` names it).
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, or_
from sqlmodel import Field, SQLModel, select

from gennation.platform import personal_data
from gennation.platform.database import utcnow


class PdfStatus(StrEnum):
    pending = "pending"  # issued; the PDF is being drawn (a worker, or in-process after commit)
    ready = "ready"  # drawn and kept under var/certificates/
    failed = "failed"  # the drawing failed; the PDF route draws it again on request


class Certificate(SQLModel, table=True):
    # AUTOINCREMENT: the id is also the certificate's bit in the revocation status list, never reused.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=36, unique=True, index=True)  # uuid4: the verification address
    code: str = Field(max_length=16, unique=True, index=True)  # short, typed by a person: "GN-7KQ4-M2XP"
    # What it was issued from ("course-completion:{id}", later "tournament:{stage}:{user}"): one each.
    source: str = Field(max_length=120, unique=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    holder_name: str = Field(max_length=200)
    kind: str = Field(default="course", max_length=20)  # "course" | "tournament"
    course_slug: str | None = Field(default=None, max_length=60, index=True)
    title: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # {"kk", "ru"}
    stage: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # {} for courses
    award: str = Field(default="", max_length=20)  # "" for courses; winner | prize_winner | participant
    place: int | None = None  # tournament diplomas: the place in the stage, when there is one
    hours: int = 0
    score: float | None = None
    issued_on: date
    language: str = Field(default="kk", max_length=2)  # the holder's language when it was issued
    issuer: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # {"kk", "ru"}
    revoked_at: datetime | None = None
    revoked_reason: str | None = Field(default=None, max_length=500)
    revoked_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    replaced_by: int | None = Field(default=None, foreign_key="certificate.id", ondelete="SET NULL")
    pdf_status: str = Field(default=PdfStatus.pending, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class CertificateEvent(SQLModel, table=True):
    """The audit log of a certificate: issued, revoked, re-issued; who did it, when and why."""

    id: int | None = Field(default=None, primary_key=True)
    certificate_id: int = Field(foreign_key="certificate.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=20)  # issued | revoked | reissued
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    reason: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow)


class BatchKind(StrEnum):
    agency = "agency"  # target: a mandate (an agency's mandatory course); its staff who passed it
    classroom = "class"  # target: a class; its learners' completions since each joined
    stage = "stage"  # target: a tournament stage (a plain id, no foreign key); the awards it handed over


class BatchStatus(StrEnum):
    pending = "pending"  # created; the task is queued (or about to run in-process)
    running = "running"  # a task is issuing; `heartbeat_at` moves with every chunk it commits
    done = "done"
    failed = "failed"  # the task stopped on an error; resuming issues only what is still missing


class CertificateBatch(SQLModel, table=True):
    """Issuing in bulk, with its progress. The certificates themselves are idempotent by their `source`, and
    progress is committed with each chunk of them, so a batch killed halfway and resumed issues only what is
    missing: `done` counts the certificates the batch found or issued, `skipped` the people it could not
    (an account deleted since), `total` what it had to do at its last start."""

    __table_args__ = (Index("ix_certificatebatch_kind_target", "kind", "target"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # BatchKind
    target: int  # the mandate, class or stage id
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # stage: titles, awards
    status: str = Field(default=BatchStatus.pending, max_length=10)
    total: int = 0
    done: int = 0
    skipped: int = 0
    error: str = Field(default="", max_length=500)
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None


class WithdrawnCertificate(SQLModel, table=True):
    """What is left of a certificate whose holder deleted their account: its number (its bit in the
    revocation list stays set, so an offline copy of the badge no longer verifies as valid), its public id
    and code (so the verification page can say what happened instead of "unknown") and the day. Nothing
    about the person: no name, no course, no link to the account."""

    id: int = Field(primary_key=True)  # the certificate's own id (never reused: AUTOINCREMENT, a sequence)
    public_id: str = Field(max_length=36, unique=True, index=True)
    code: str = Field(max_length=16, unique=True, index=True)
    withdrawn_at: datetime = Field(default_factory=utcnow)


personal_data.holds("certificates", Certificate, Certificate.user_id)
personal_data.holds("certificate_events", CertificateEvent, rows=lambda user_id: select(CertificateEvent).where(
    or_(CertificateEvent.actor_id == user_id,
        CertificateEvent.certificate_id.in_(select(Certificate.id).where(Certificate.user_id == user_id))))
    .order_by(CertificateEvent.id))
personal_data.holds("certificate_batches_started", CertificateBatch, CertificateBatch.created_by)
