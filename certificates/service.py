"""Issuing, finding, revoking and re-issuing certificates (on a session; no HTTP).

A certificate is issued from a source event (a course completion now, tournament stages later) and
the source is unique, so an event that arrives twice still gives one certificate. Every printed field
is copied at issue time; nothing here ever rewrites them.
"""
from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gennation.certificates.models import Certificate, CertificateEvent, PdfStatus
from gennation.courses.models import Course, CourseCompletion
from gennation.platform.accounts.models import Role, User
from gennation.platform.database import utcnow
from gennation.platform.errors import Conflict, Forbidden, InvalidField, NotFound
from gennation.platform.i18n import N_
from gennation.platform.institutions.assignments import ALMATY, as_utc

# The issuer printed on every certificate (frozen into each one, so a later rename changes no old one).
ISSUER = {"kk": "«Генеративті Ұлт» ұлттық платформасы", "ru": "Национальная платформа «Генеративная нация»"}

# A short code a person reads off paper and types: no 0/O, 1/I/L or U, in two groups of four.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_PATTERN = re.compile(r"^GN-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MAX_REASON = 500

# Subscribers to "a certificate was issued": fn(session, certificate) — the PDF renderer registers here
# (see certificates.tasks); the indicators may too. They run in the issuing unit of work.
issued_hooks: list = []


class CertificateUnknown(NotFound):
    message = N_("There is no certificate with this number. Please check the number or the code.")


class AlreadyRevoked(Conflict):
    message = N_("This certificate has already been revoked.")


def new_code() -> str:
    letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"GN-{letters[:4]}-{letters[4:]}"


def normalise_code(text: str) -> str:
    """What a person typed, as a code: case, spaces and a missing prefix or dashes forgiven."""
    letters = re.sub(r"[^0-9A-Z]", "", text.upper())
    letters = letters.removeprefix("GN") if len(letters) == 10 else letters
    return f"GN-{letters[:4]}-{letters[4:]}" if len(letters) == 8 else ""


def completion_source(completion_id: int) -> str:
    return f"course-completion:{completion_id}"


def _unused_code(session: Session) -> str:
    while True:  # 30^8 codes: a repeat is rare, and checked rather than hoped away
        code = new_code()
        if session.exec(select(Certificate.id).where(Certificate.code == code)).first() is None:
            return code


def by_source(session: Session, source: str) -> Certificate | None:
    return session.exec(select(Certificate).where(Certificate.source == source)).first()


def issue(session: Session, certificate: Certificate, actor_id: int | None = None) -> Certificate:
    """Insert `certificate` (its printed fields filled in) once per source: an existing one is returned
    as it is. A concurrent issue of the same source loses on the unique constraint and gets the winner's."""
    existing = by_source(session, certificate.source)
    if existing is not None:
        return existing
    certificate.public_id = certificate.public_id or str(uuid.uuid4())
    certificate.code = certificate.code or _unused_code(session)
    try:
        with session.begin_nested():
            session.add(certificate)
            session.flush()
    except IntegrityError:
        existing = by_source(session, certificate.source)
        if existing is None:
            raise
        return existing
    session.add(CertificateEvent(certificate_id=certificate.id, kind="issued", actor_id=actor_id))
    session.flush()
    for hook in issued_hooks:
        hook(session, certificate)
    return certificate


def issue_for_completion(session: Session, completion: CourseCompletion) -> Certificate:
    """The certificate of one course completion, with the holder's name and the course as they are now."""
    existing = by_source(session, completion_source(completion.id))
    if existing is not None:
        return existing
    user = session.get(User, completion.user_id)
    course = session.get(Course, completion.course_id)
    completed_at = as_utc(completion.completed_at) or utcnow()
    return issue(session, Certificate(
        source=completion_source(completion.id), user_id=user.id, holder_name=user.display_name.strip(),
        kind="course", course_slug=course.slug,
        title={"kk": course.title.get("kk", ""), "ru": course.title.get("ru", "")},
        hours=completion.hours, score=completion.score, issued_on=completed_at.astimezone(ALMATY).date(),
        language=user.language, issuer=dict(ISSUER), public_id="", code=""))


def on_course_completed(session: Session, completion: CourseCompletion) -> None:
    """The `courses.service.completion_hooks` subscriber."""
    issue_for_completion(session, completion)


# ---------------------------------------------------------------- finding

def find(session: Session, reference: str) -> Certificate | None:
    """A certificate by its public id or its short code; None for anything else (a malformed one too)."""
    reference = (reference or "").strip()[:64]
    if UUID_PATTERN.match(reference.lower()):
        return session.exec(select(Certificate).where(Certificate.public_id == reference.lower())).first()
    code = normalise_code(reference)
    if code and CODE_PATTERN.match(code):
        return session.exec(select(Certificate).where(Certificate.code == code)).first()
    return None


def get(session: Session, reference: str) -> Certificate:
    certificate = find(session, reference)
    if certificate is None:
        raise CertificateUnknown
    return certificate


def mine(session: Session, user: User) -> list[Certificate]:
    return list(session.exec(select(Certificate).where(Certificate.user_id == user.id)
                             .order_by(Certificate.issued_on.desc(), Certificate.id.desc())))


def of_class(session: Session, classroom_id: int) -> list[Certificate]:
    """The valid certificates of a class's learners issued since each joined (a teacher sees nothing from
    before), by holder name."""
    from gennation.platform.institutions.models import ClassMember
    return list(session.exec(select(Certificate).join(ClassMember, col(ClassMember.user_id) == Certificate.user_id)
                             .where(ClassMember.classroom_id == classroom_id, col(Certificate.revoked_at).is_(None),
                                    Certificate.created_at >= ClassMember.joined_at)
                             .order_by(Certificate.holder_name, Certificate.id)))


def of_agency(session: Session, agency_id: int, course_slug: str) -> list[Certificate]:
    """The valid certificates of a course held by the agency's staff (those who accepted its list)."""
    from gennation.platform.agencies.models import Employee
    return list(session.exec(select(Certificate).join(Employee, col(Employee.user_id) == Certificate.user_id)
                             .where(Employee.institution_id == agency_id, col(Employee.confirmed_at).is_not(None),
                                    Certificate.course_slug == course_slug, col(Certificate.revoked_at).is_(None))
                             .order_by(Certificate.holder_name, Certificate.id)))


def readable_by(user: User | None, certificate: Certificate) -> bool:
    """Who may download the PDF through the API: its holder, admins and organisers (anyone may verify)."""
    return user is not None and (user.id == certificate.user_id or user.role in (Role.admin, Role.organiser))


def replacement_of(session: Session, certificate: Certificate) -> Certificate | None:
    """The newest certificate that replaces this one (a chain of corrections is followed to its end)."""
    seen, current = {certificate.id}, certificate
    while current.replaced_by is not None and current.replaced_by not in seen:
        nxt = session.get(Certificate, current.replaced_by)
        if nxt is None:
            break
        seen.add(nxt.id)
        current = nxt
    return current if current is not certificate else None


# ---------------------------------------------------------------- revocation and re-issue

def can_revoke(user: User) -> bool:
    return user.role in (Role.admin, Role.organiser)


def _reason(text: str | None) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise InvalidField("reason", N_("Please give the reason for revoking."))
    if len(reason) > MAX_REASON:
        raise InvalidField("reason", N_("The reason is too long (500 characters at most)."))
    return reason


def revoke(session: Session, actor: User, reference: str, reason: str | None, at: datetime | None = None) -> Certificate:
    """Revoke with a reason (admins and organisers), once; the audit log keeps who, when and why."""
    if not can_revoke(actor):
        raise Forbidden
    certificate = get(session, reference)
    text = _reason(reason)
    if certificate.revoked:
        raise AlreadyRevoked
    certificate.revoked_at = at or utcnow()
    certificate.revoked_reason = text
    certificate.revoked_by = actor.id
    session.add(certificate)
    session.add(CertificateEvent(certificate_id=certificate.id, kind="revoked", actor_id=actor.id, reason=text,
                                 at=certificate.revoked_at))
    session.flush()
    return certificate


def reissue(session: Session, actor: User, reference: str, holder_name: str, reason: str | None) -> Certificate:
    """A name correction: a new certificate with the corrected name and every other field as issued;
    the old one is revoked and points to the new one on its verification page."""
    if not can_revoke(actor):
        raise Forbidden
    old = get(session, reference)
    name = " ".join((holder_name or "").split())
    if not name or len(name) > 200:
        raise InvalidField("holder_name", N_("Please write the holder's name (200 characters at most)."))
    text = _reason(reason)
    if old.replaced_by is not None:
        raise Conflict(N_("This certificate has already been re-issued."))
    new = issue(session, Certificate(
        source=f"reissue:{old.id}", user_id=old.user_id, holder_name=name, kind=old.kind, course_slug=old.course_slug,
        title=dict(old.title), stage=dict(old.stage), award=old.award, hours=old.hours, score=old.score,
        issued_on=utcnow().astimezone(ALMATY).date(), language=old.language, issuer=dict(old.issuer),
        public_id="", code=""), actor_id=actor.id)
    if not old.revoked:
        old.revoked_at, old.revoked_reason, old.revoked_by = utcnow(), text, actor.id
    old.replaced_by = new.id
    session.add(old)
    session.add(CertificateEvent(certificate_id=old.id, kind="reissued", actor_id=actor.id, reason=text))
    session.flush()
    return new


def mark_pdf(session: Session, certificate: Certificate, status: PdfStatus) -> None:
    certificate.pdf_status = status
    session.add(certificate)
    session.flush()



