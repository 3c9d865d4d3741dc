"""Writing and reading the audit log.

`record` is called by the service that makes the change, in its unit of work, and only flushes: the row is
committed with the change or rolled back with it. Actions are named here, once (`ACTIONS`): a name is a
stable key that filters and reports rely on, so a new kind of action is added to the list, never renamed.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, UTC

from sqlmodel import Session, col, func, select

from gennation.platform import logs
from gennation.platform.accounts.models import Role, User
from gennation.platform.audit.models import AuditEvent
from gennation.platform.i18n import N_

# Every action that is logged, with what it means (shown on the admin page, translated there).
ACTIONS: dict[str, str] = {
    "user.role_set": N_("Role changed"),
    "user.first_time_code_reissued": N_("New first-time code issued"),
    "teacher.confirmed": N_("Teacher confirmed"),
    "institution.coordinator_appointed": N_("Coordinator appointed"),
    "institution.teacher_invited": N_("Teacher invited (account made)"),
    "institutions.imported": N_("Directory of institutions imported"),
    "institution.adoption_recorded": N_("Course adoption recorded"),
    "class.learner_added": N_("Learner added from a class list (account made)"),
    "class.learner_invited": N_("Learner invited from a class list"),
    "class.learner_removed": N_("Learner removed from a class"),
    "class.archived": N_("Class archived"),
    "class.assignment_added": N_("Assignment given to a class"),
    "agency.mandate_set": N_("Mandatory course set"),
    "agency.employee_added": N_("Employee added to the staff list"),
    "agency.employee_moved": N_("Employee moved to another department"),
    "agency.employee_removed": N_("Employee removed from the staff list"),
    "agency.reminders_sent": N_("Reminders sent"),
    "tournament.season_created": N_("Tournament season created"),
    "tournament.category_added": N_("Tournament category added"),
    "tournament.stage_added": N_("Tournament stage added"),
    "tournament.stage_moved": N_("Tournament stage moved"),
    "tournament.task_added": N_("Tournament task added"),
    "tournament.task_rescored": N_("Tournament task re-scored"),
    "tournament.entry_disqualified": N_("Participant disqualified"),
    "tournament.extra_time_granted": N_("Extra time granted"),
    "tournament.appeal_answered": N_("Appeal answered"),
    "tournament.stage_advanced": N_("Participants advanced to the next stage"),
    "tournament.entries_requeued": N_("Stuck entries sent for scoring again"),
    "certificate.revoked": N_("Certificate revoked"),
    "certificate.reissued": N_("Certificate re-issued"),
    "certificates.batch_started": N_("Certificates issued in bulk"),
    "certificates.batch_resumed": N_("Bulk issuing resumed"),
    "content.reloaded": N_("Course content reloaded"),
}

# What the admin page calls the objects and the facts `record` keeps (message ids; the JSON API keeps the keys).
OBJECT_NAMES: dict[str, str] = {
    "adoption": N_("course adoption"), "agency": N_("agency"), "appeal": N_("appeal"), "assignment": N_("assignment"),
    "category": N_("tournament category"), "certificate": N_("certificate"), "certificatebatch": N_("bulk issue"),
    "classroom": N_("class"), "content": N_("course content"), "directory": N_("directory of institutions"),
    "entries": N_("tournament entries"), "institution": N_("institution"), "mandate": N_("mandatory course"),
    "participant": N_("tournament participant"), "season": N_("tournament season"), "stage": N_("tournament stage"),
    "task": N_("tournament task"), "user": N_("account"),
}
DETAIL_NAMES: dict[str, str] = {
    "account": N_("account"), "advanced": N_("advanced"), "class": N_("class"), "course": N_("course"),
    "courses": N_("courses"), "created": N_("created"), "deadline": N_("deadline"), "department": N_("department"),
    "draw": N_("questions per attempt"), "due": N_("due"), "failed": N_("failed"), "from": N_("from"),
    "institution": N_("institution"), "kind": N_("kind"), "metric": N_("metric"), "minutes": N_("minutes"),
    "module": N_("module"), "new": N_("new certificate"), "new_labels": N_("new hidden answers"),
    "position": N_("position"), "programme": N_("programme"), "questions": N_("questions"), "quiz": N_("quiz of the course"),
    "reason": N_("reason"), "reminded": N_("reminded"), "requeued": N_("sent again"), "season": N_("season"),
    "since": N_("since"), "slug": N_("address"), "stage": N_("stage"), "target": N_("target"), "to": N_("to"),
    "to_stage": N_("to stage"), "unchanged": N_("unchanged"), "updated": N_("updated"), "version": N_("version"),
}
# Coded values of those facts that have a name of their own (roles and stage statuses are named where they live).
VALUE_NAMES: dict[str, str] = {
    "made": N_("account made"), "invited": N_("invitation sent"), "qualifier": N_("open online qualifier"),
    "regional": N_("regional round"), "final": N_("national final"), "quiz": N_("quiz"),
    "practical": N_("practical task"), "agency": N_("an agency's staff"), "class": N_("a class"),
    "stage": N_("a tournament stage"), "created": N_("created"), "updated": N_("updated"), "retired": N_("retired"),
    "unchanged": N_("unchanged"),
}
OPERATOR = "operator"  # no account: the command line, or a job an operator started
# Words no key of `detail` may contain: the log is read by admins and exported to people.
_SECRET_WORDS = ("password", "secret", "token", "code_hash", "first_time_code", "private_key")
MAX_DETAIL = 4000  # characters of JSON: a few facts, not a copy of the data


def coordinator(institution_id: int) -> str:
    return f"coordinator:{institution_id}"


def grant_of(actor: User | None, institution_id: int | None = None) -> str:
    """The role an action is taken under: an admin acts as admin; anyone else acting on an institution's
    data does so as its coordinator."""
    if actor is None:
        return OPERATOR
    if institution_id is not None and actor.role != Role.admin:
        return coordinator(institution_id)
    return str(actor.role)


def _clean(detail: dict | None) -> dict:
    detail = dict(detail or {})
    for key in detail:
        if any(word in str(key).lower() for word in _SECRET_WORDS):
            raise ValueError(f"the audit log keeps no secrets: {key!r}")
    cleaned = json.loads(json.dumps(detail, default=str, ensure_ascii=False))  # dates and enums as text
    if len(json.dumps(cleaned, ensure_ascii=False)) > MAX_DETAIL:
        raise ValueError("an audit detail is a few facts, not a copy of the data")
    return cleaned


def record(session: Session, actor: User | None, action: str, *, object_type: str, object_id: object = "",
           affected: int | User | None = None, detail: dict | None = None, grant: str | None = None) -> AuditEvent:
    """Log one action of `actor` (None: an operator) in the current unit of work, and flush."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to ACTIONS")
    affected_id = affected.id if isinstance(affected, User) else affected
    event = AuditEvent(actor_id=actor.id if actor is not None else None, actor_role=(grant or grant_of(actor))[:60],
                       action=action, affected_user_id=affected_id, object_type=object_type,
                       object_id=str(object_id if object_id is not None else "")[:64], detail=_clean(detail),
                       request_id=logs.request_id.get())
    session.add(event)
    session.flush()
    return event


# ---------------------------------------------------------------- reading (admins)

PER_PAGE = 50


@dataclass
class Filters:
    actor_id: int | None = None
    affected_id: int | None = None
    action: str | None = None
    since: date | None = None  # UTC days, both included
    until: date | None = None

    def query(self) -> dict:
        """As GET parameters (for the pages' links)."""
        values = {"actor": self.actor_id, "affected": self.affected_id, "action": self.action,
                  "since": self.since.isoformat() if self.since else None,
                  "until": self.until.isoformat() if self.until else None}
        return {key: value for key, value in values.items() if value is not None}


@dataclass
class Row:
    event: AuditEvent
    actor: User | None
    affected: User | None


@dataclass
class LogPage:
    rows: list[Row]
    total: int
    page: int
    pages: int
    filters: Filters = field(default_factory=Filters)


def _conditions(filters: Filters) -> list:
    where = []
    if filters.actor_id is not None:
        where.append(AuditEvent.actor_id == filters.actor_id)
    if filters.affected_id is not None:
        where.append(AuditEvent.affected_user_id == filters.affected_id)
    if filters.action:
        where.append(AuditEvent.action == filters.action)
    if filters.since:
        where.append(AuditEvent.at >= datetime.combine(filters.since, time.min, UTC))
    if filters.until:
        where.append(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time.min, UTC))
    return where


def search(session: Session, filters: Filters, page: int = 1, per_page: int = PER_PAGE) -> LogPage:
    """One page of the log, newest first, with the accounts it names (three queries)."""
    where = _conditions(filters)
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*where)).one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    events = list(session.exec(select(AuditEvent).where(*where)
                               .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
                               .offset((page - 1) * per_page).limit(per_page)))
    ids = {i for e in events for i in (e.actor_id, e.affected_user_id) if i is not None}
    people = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids)))} if ids else {}
    rows = [Row(e, people.get(e.actor_id), people.get(e.affected_user_id)) for e in events]
    return LogPage(rows, total, page, pages, filters)


def person_id(session: Session, text: str) -> int | None:
    """An account named on the filter form by username or number; None when there is none (-1: asked for,
    not found, so that the filter finds nothing rather than everything)."""
    from gennation.platform.accounts.service import normal_username
    text = (text or "").strip()
    if not text:
        return None
    if text.isdecimal() and len(text) < 10:
        return int(text)
    found = session.exec(select(User.id).where(User.username == normal_username(text))).first()
    return found if found is not None else -1
