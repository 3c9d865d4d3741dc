"""The audit log for admins: a page with filters (htmx swaps the table) and the same as JSON."""
from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from gennation.frontend.rendering import render
from gennation.platform.accounts.models import Role
from gennation.platform.audit import service
from gennation.platform.audit.schemas import AuditEventOut, AuditPageOut
from gennation.platform.deps import ApiUser, DbSession, PageLang, current_user, require_role
from gennation.platform.errors import Forbidden, InvalidField
from gennation.platform.i18n import N_, gettext

pages = APIRouter(include_in_schema=False, dependencies=[Depends(current_user)])
api = APIRouter(prefix="/api/v1", tags=["audit"])


def _day(value: str, name: str, problems: dict) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        problems[name] = N_("Enter a date as YYYY-MM-DD.")
        return None


def _filters(session, actor: str, affected: str, action: str, since: str, until: str) -> tuple[service.Filters, dict]:
    problems: dict[str, str] = {}
    if action and action not in service.ACTIONS:
        problems["action"] = N_("Choose one of the options.")
    filters = service.Filters(actor_id=service.person_id(session, actor), affected_id=service.person_id(session, affected),
                              action=action if action in service.ACTIONS else None,
                              since=_day(since, "since", problems), until=_day(until, "until", problems))
    return filters, problems


Text = Annotated[str, Query(max_length=60)]


@pages.get("/{lang}/admin/audit", dependencies=[Depends(require_role(Role.admin))])
def audit_page(request: Request, lang: PageLang, session: DbSession, actor: Text = "", affected: Text = "",
               action: Text = "", since: Text = "", until: Text = "", page: Annotated[int, Query(ge=1, le=10**6)] = 1):
    """Who changed whose data, newest first; filtered by plain GET parameters, an htmx request gets the table."""
    filters, problems = _filters(session, actor, affected, action, since, until)
    found = service.search(session, filters, page)
    form = {"actor": actor, "affected": affected, "action": action, "since": since, "until": until}
    query = urlencode({k: v for k, v in form.items() if v})
    return render(request, "audit/audit.html", {
        "log": found, "form": form, "actions": service.ACTIONS, "query": query,
        "problems": [gettext(lang, message) for message in problems.values()],
    }, lang=lang, fragment="audit/_audit_table.html")


@api.get("/admin/audit", response_model=AuditPageOut, responses={403: {"description": "Not an admin"}})
def api_audit(session: DbSession, user: ApiUser,
              actor_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
              affected_user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
              action: Annotated[str, Query(max_length=60)] = "", since: date | None = None, until: date | None = None,
              page: Annotated[int, Query(ge=1, le=10**6)] = 1):
    """Admins: the audit log, newest first, 50 a page; `since` and `until` are UTC days (both included)."""
    if user.role != Role.admin:
        raise Forbidden
    if action and action not in service.ACTIONS:
        raise InvalidField("action", N_("Choose one of the options."))
    found = service.search(session, service.Filters(actor_id, affected_user_id, action or None, since, until), page)
    return AuditPageOut(total=found.total, page=found.page, pages=found.pages, events=[AuditEventOut(
        **row.event.model_dump(exclude={"id"}), id=row.event.id,
        actor_username=row.actor.username if row.actor else None,
        affected_username=row.affected.username if row.affected else None) for row in found.rows])
