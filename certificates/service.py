"""Issuing, finding, revoking and re-issuing certificates (on a session; no HTTP).

A certificate is issued from a source event (a course completion now, tournament stages later) and
the source is unique, so an event that arrives twice still gives one certificate. Every printed field
is copied at issue time; nothing here ever rewrites them.
"""
from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gennation.certificates.models import (
    BatchKind, BatchStatus, Certificate, CertificateBatch, CertificateEvent, PdfStatus, WithdrawnCertificate,
)
from gennation.courses.models import Course, CourseCompletion
from gennation.platform.accounts.models import Role, User
from gennation.platform.audit import service as audit
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
    audit.record(session, actor, "certificate.revoked", object_type="certificate", object_id=certificate.public_id,
                 affected=certificate.user_id, detail={"reason": text})
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
    audit.record(session, actor, "certificate.reissued", object_type="certificate", object_id=old.public_id,
                 affected=old.user_id, detail={"new": new.public_id, "reason": text})
    return new


def mark_pdf(session: Session, certificate: Certificate, status: PdfStatus) -> None:
    certificate.pdf_status = status
    session.add(certificate)
    session.flush()


# ---------------------------------------------------------------- tournament diplomas

AWARDS = ("winner", "prize_winner", "participant")


def tournament_source(stage_id: int, user_id: int) -> str:
    return f"tournament:{stage_id}:{user_id}"


def _today_in_almaty():
    return utcnow().astimezone(ALMATY).date()


def issue_diploma(session: Session, user: User, stage_id: int, stage_title: dict, season_title: dict, award: str,
                  place: int | None, score: float | None, actor_id: int | None = None) -> Certificate:
    """One tournament diploma (once per stage and person: its source is unique)."""
    return issue(session, Certificate(
        source=tournament_source(stage_id, user.id), user_id=user.id, holder_name=user.display_name.strip(),
        kind="tournament", course_slug=None, title=dict(season_title), stage=dict(stage_title), award=award,
        place=place, hours=0, score=score, issued_on=_today_in_almaty(), language=user.language,
        issuer=dict(ISSUER), public_id="", code=""), actor_id=actor_id)


def _bilingual(field: str, value) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(value.get(lang), str) and value[lang].strip()
                                              and len(value[lang]) <= 300 for lang in ("kk", "ru")):
        raise InvalidField(field, N_("Give the title in Kazakh and in Russian (300 characters at most each)."))
    return {"kk": " ".join(value["kk"].split()), "ru": " ".join(value["ru"].split())}


def _awards(awards) -> list[list]:
    checked, seen = [], set()
    for item in awards:
        try:
            user_id, award, place, score = item
        except (TypeError, ValueError):
            raise InvalidField("awards", N_("Each award is a person, the award, the place and the score.")) from None
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise InvalidField("awards", N_("An award names a person who does not exist."))
        if award not in AWARDS:
            raise InvalidField("awards", N_("An award must be winner, prize-winner or participant."))
        if place is not None and (not isinstance(place, int) or isinstance(place, bool) or not 1 <= place <= 100_000):
            raise InvalidField("awards", N_("A place must be a whole number from 1."))
        if score is not None and (not isinstance(score, (int, float)) or isinstance(score, bool)):
            raise InvalidField("awards", N_("A score must be a number."))
        if user_id in seen:
            raise InvalidField("awards", N_("A person is named twice among the awards of one stage."))
        seen.add(user_id)
        checked.append([user_id, award, place, None if score is None else float(score)])
    return checked


def start_diploma_batch(session: Session, *, stage_id: int, stage_title: dict[str, str], season_title: dict[str, str],
                        awards: list[tuple[int, str, int | None, float | None]], by: User | None) -> CertificateBatch:
    """The tournament hands over a stage's results: a batch that issues one diploma per person (kind
    "tournament", source "tournament:{stage}:{user}"), in the background, with progress; the stage's ZIP once
    done. Called again for the same stage (more results, or after a failure), it issues only what is missing."""
    if not isinstance(stage_id, int) or isinstance(stage_id, bool) or stage_id <= 0:
        raise InvalidField("stage_id", N_("Unknown tournament stage."))
    params = {"stage_title": _bilingual("stage_title", stage_title),
              "season_title": _bilingual("season_title", season_title), "awards": _awards(awards)}
    return start_batch(session, BatchKind.stage, stage_id, by, params)


# ---------------------------------------------------------------- bulk issuing

CHUNK = 25  # certificates per committed step: what a killed batch may have to issue again (never twice)
STALE_AFTER = timedelta(minutes=3)  # a running batch with no step committed for this long has lost its worker


class BatchBusy(Conflict):
    message = N_("These certificates are being issued right now. Please wait for it to finish.")


@dataclass(frozen=True)
class Item:
    """One certificate a batch must issue: its source, its holder, and how to issue it."""

    source: str
    user_id: int
    completion_id: int | None = None
    award: tuple | None = None  # (award, place, score) for a diploma


def batch_live(batch: CertificateBatch, now: datetime | None = None) -> bool:
    """A worker is issuing it now (a running batch whose last step is recent)."""
    beat = as_utc(batch.heartbeat_at or batch.started_at or batch.created_at)
    return batch.status == BatchStatus.running and (now or utcnow()) - beat < STALE_AFTER


def resumable(batch: CertificateBatch, now: datetime | None = None) -> bool:
    """Failed, or running with its worker gone (killed, restarted), or never picked up."""
    if batch.status == BatchStatus.failed:
        return True
    if batch.status == BatchStatus.pending:
        return (now or utcnow()) - as_utc(batch.created_at) >= STALE_AFTER
    return batch.status == BatchStatus.running and not batch_live(batch, now)


def lost_work(session: Session, now: datetime | None = None) -> tuple[list[int], list[int]]:
    """What the sweeper sends again: batches whose worker is gone or that no worker picked up (a failed
    one waits for a person, who sees why it failed), and certificates whose PDF was never drawn."""
    now = now or utcnow()
    open_batches = session.exec(select(CertificateBatch).where(
        col(CertificateBatch.status).in_([BatchStatus.pending, BatchStatus.running]))).all()
    batches = [batch.id for batch in open_batches if resumable(batch, now)]
    undrawn = session.exec(select(Certificate.id).where(Certificate.pdf_status == PdfStatus.pending,
                                                        Certificate.created_at < now - STALE_AFTER)
                           .order_by(Certificate.id).limit(500)).all()
    return batches, list(undrawn)


def latest_batch(session: Session, kind: BatchKind, target: int) -> CertificateBatch | None:
    return session.exec(select(CertificateBatch).where(CertificateBatch.kind == kind, CertificateBatch.target == target)
                        .order_by(col(CertificateBatch.id).desc())).first()


def batch_of(session: Session, batch_id: int, kind: BatchKind | None = None, target: int | None = None) -> CertificateBatch:
    """A batch, found only under the class, mandate or stage it belongs to (anything else: not found)."""
    batch = session.get(CertificateBatch, batch_id)
    if batch is None or (kind is not None and batch.kind != kind) or (target is not None and batch.target != target):
        raise NotFound
    return batch


def start_batch(session: Session, kind: BatchKind, target: int, by: User | None,
                params: dict | None = None) -> CertificateBatch:
    """A batch for a class, a mandate or a stage, sent to the `certificates` queue after commit. An
    unfinished one of the same target is resumed instead (with the new parameters), unless a worker is on it."""
    batch = latest_batch(session, kind, target)
    if batch is not None and batch.status != BatchStatus.done:
        if batch_live(batch):
            raise BatchBusy
        if params is not None:
            batch.params = params
        batch.status, batch.error = BatchStatus.pending, ""
        batch.created_at = utcnow()  # a fresh claim: not "never picked up" for another STALE_AFTER
    else:
        batch = CertificateBatch(kind=kind, target=target, params=params or {}, created_by=by.id if by else None)
    session.add(batch)
    session.flush()
    audit.record(session, by, "certificates.batch_started", object_type="certificatebatch", object_id=batch.id,
                 grant=_batch_grant(session, by, kind, target), detail={"kind": kind, "target": target})
    for hook in batch_hooks:
        hook(session, batch)
    return batch


def _batch_grant(session: Session, by: User | None, kind: str, target: int) -> str:
    """An agency's batch is started by its coordinator (or an admin); the others under the person's role."""
    if kind == BatchKind.agency and by is not None:
        from gennation.platform.agencies.models import Mandate
        mandate = session.get(Mandate, target)
        return audit.grant_of(by, mandate.institution_id if mandate else None)
    return audit.grant_of(by)


def resume_batch(session: Session, batch: CertificateBatch, by: User | None = None) -> CertificateBatch:
    if batch.status == BatchStatus.done:
        raise Conflict(N_("These certificates have all been issued already."))
    if not resumable(batch):
        raise BatchBusy
    batch.status, batch.error, batch.created_at = BatchStatus.pending, "", utcnow()
    session.add(batch)
    session.flush()
    audit.record(session, by, "certificates.batch_resumed", object_type="certificatebatch", object_id=batch.id,
                 grant=_batch_grant(session, by, batch.kind, batch.target), detail={"kind": batch.kind, "target": batch.target})
    for hook in batch_hooks:
        hook(session, batch)
    return batch


# Subscribers to "a batch was started or resumed": fn(session, batch); `certificates.tasks` sends the task
# after commit.
batch_hooks: list = []


def _existing_sources(session: Session, sources: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(sources), 500):
        found.update(session.exec(select(Certificate.source).where(col(Certificate.source).in_(sources[start:start + 500]))))
    return found


def _missing(session: Session, items: list[Item]) -> list[Item]:
    have = _existing_sources(session, [item.source for item in items])
    return [item for item in items if item.source not in have]


def batch_items(session: Session, batch: CertificateBatch) -> list[Item]:
    """What the batch still has to issue: each certificate of its target whose source has none yet."""
    if batch.kind == BatchKind.stage:
        items = [Item(tournament_source(batch.target, user_id), user_id, award=(award, place, score))
                 for user_id, award, place, score in batch.params.get("awards", [])]
    elif batch.kind == BatchKind.agency:
        from gennation.platform.agencies.models import Employee, Mandate
        mandate = session.get(Mandate, batch.target)
        if mandate is None:
            return []
        rows = session.exec(select(CourseCompletion.id, CourseCompletion.user_id)
                            .join(Course, Course.id == CourseCompletion.course_id)
                            .join(Employee, col(Employee.user_id) == CourseCompletion.user_id)
                            .where(Employee.institution_id == mandate.institution_id,
                                   col(Employee.confirmed_at).is_not(None), Course.slug == mandate.course_slug)
                            .order_by(CourseCompletion.id)).all()
        items = [Item(completion_source(cid), uid, completion_id=cid) for cid, uid in rows]
    else:
        from gennation.platform.institutions.models import ClassMember
        rows = session.exec(select(CourseCompletion.id, CourseCompletion.user_id)
                            .join(ClassMember, col(ClassMember.user_id) == CourseCompletion.user_id)
                            .where(ClassMember.classroom_id == batch.target,
                                   CourseCompletion.completed_at >= ClassMember.joined_at)
                            .order_by(CourseCompletion.id)).all()
        items = [Item(completion_source(cid), uid, completion_id=cid) for cid, uid in rows]
    return _missing(session, items)


def issue_item(session: Session, batch: CertificateBatch, item: Item) -> Certificate | None:
    """Issue one of a batch's certificates; None when its holder (or completion) no longer exists."""
    if item.completion_id is not None:
        completion = session.get(CourseCompletion, item.completion_id)
        return issue_for_completion(session, completion) if completion is not None else None
    user = session.get(User, item.user_id)
    if user is None:
        return None
    award, place, score = item.award
    return issue_diploma(session, user, batch.target, batch.params["stage_title"], batch.params["season_title"],
                         award, place, score, actor_id=batch.created_by)


def certificates_of_batch(session: Session, batch: CertificateBatch) -> list[Certificate]:
    """The valid certificates a batch's ZIP holds: the class's, the mandate's, or the stage's."""
    if batch.kind == BatchKind.classroom:
        return of_class(session, batch.target)
    if batch.kind == BatchKind.agency:
        from gennation.platform.agencies.models import Mandate
        mandate = session.get(Mandate, batch.target)
        return of_agency(session, mandate.institution_id, mandate.course_slug) if mandate else []
    return of_stage(session, batch.target)


def of_stage(session: Session, stage_id: int) -> list[Certificate]:
    """The valid diplomas of a tournament stage, by holder name."""
    return list(session.exec(select(Certificate).where(
        Certificate.kind == "tournament", col(Certificate.source).startswith(f"tournament:{stage_id}:"),
        col(Certificate.revoked_at).is_(None)).order_by(Certificate.holder_name, Certificate.id)))


# ---------------------------------------------------------------- a holder deletes their account

WITHDRAWN_REASON = N_("The holder deleted their account on the platform, and with it this certificate. "
                      "The platform no longer keeps its details, so it cannot confirm them.")


def withdraw_all(session: Session, user_id: int) -> list[str]:
    """Before an account is deleted (its certificates go with it, ON DELETE CASCADE): keep of each
    certificate only its number, public id and code, so that its bit in the revocation list stays set and
    its verification page says it was withdrawn. Returns the public ids (their PDF files are removed)."""
    rows = session.exec(select(Certificate.id, Certificate.public_id, Certificate.code)
                        .where(Certificate.user_id == user_id)).all()
    now = utcnow()
    for certificate_id, public_id, code in rows:
        if session.get(WithdrawnCertificate, certificate_id) is None:
            session.add(WithdrawnCertificate(id=certificate_id, public_id=public_id, code=code, withdrawn_at=now))
    session.flush()
    return [public_id for _id, public_id, _code in rows]


def find_withdrawn(session: Session, reference: str) -> WithdrawnCertificate | None:
    reference = (reference or "").strip()[:64]
    if UUID_PATTERN.match(reference.lower()):
        return session.exec(select(WithdrawnCertificate)
                            .where(WithdrawnCertificate.public_id == reference.lower())).first()
    code = normalise_code(reference)
    if code and CODE_PATTERN.match(code):
        return session.exec(select(WithdrawnCertificate).where(WithdrawnCertificate.code == code)).first()
    return None

