"""Certificates in the JSON API: the printed fields (what verification shows) and a holder's list."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class PrintedFields(BaseModel):
    """Everything the certificate prints, as issued: compare it with a paper or PDF copy."""

    id: str = Field(description="The public id (the verification address)")
    code: str = Field(description="The short code printed under the QR code")
    holder_name: str
    kind: str = Field(description="course | tournament")
    course: str | None = Field(description="The course's slug, for course certificates")
    title: dict[str, str] = Field(description="The course (or tournament) title, {kk, ru}")
    stage: dict[str, str] = Field(default_factory=dict, description="The tournament stage, {kk, ru}; {} for courses")
    award: str = Field(default="", description="'' for courses; winner | prize_winner | participant")
    place: int | None = Field(default=None, description="Tournament diplomas: the place in the stage, if any")
    hours: int
    issued_on: date
    language: str
    issuer: dict[str, str]


class VerificationOut(BaseModel):
    status: Literal["valid", "revoked", "unknown"]
    certificate: PrintedFields | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    replaced_by: str | None = Field(default=None, description="The public id of the certificate that replaces this one")
    withdrawn: bool = Field(default=False, description="Revoked because its holder deleted their account: the "
                            "platform keeps none of its fields, so `certificate` is empty")
    verify_url: str | None = None


class CertificateLinks(BaseModel):
    verify: str
    pdf: str
    badge: str


class MyCertificateOut(BaseModel):
    id: str
    code: str
    course: str | None
    title: str = Field(description="In the requested language")
    status: Literal["valid", "revoked"]
    issued_on: date
    hours: int
    pdf_status: str
    links: CertificateLinks


class RevokeIn(BaseModel):
    reason: str = Field(default="", max_length=2000, description="Why; shown on the verification page")


class RevokedOut(BaseModel):
    id: str
    status: Literal["revoked"]
    revoked_at: datetime
    revoked_reason: str
