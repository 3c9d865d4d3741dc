"""The audit log for admins: a page with filters (htmx swaps the table) and the same as JSON."""
from __future__ import annotations

import functools
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from gennation.frontend.rendering import render
from gennation.platform.accounts.models import Role
from gennation.platform.accounts.vocabulary import ROLE_NAMES
from gennation.platform.audit import service
from gennation.platform.audit.schemas import AuditEventOut, AuditPageOut
from gennation.platform.deps import ApiUser, DbSession, PageLang, UnitOfWorkRoute, PagePerson, require_role
from gennation.platform.errors import Forbidden, InvalidField
from gennation.platform.i18n import N_, gettext
from gennation.tournament.routes import STATUS_NAMES

pages = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[PagePerson])
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["audit"])


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


def _role(grant: str, lang: str) -> str:
    if grant == service.OPERATOR:
        return gettext(lang, N_("command line or a scheduled job"))
    if grant.startswith("coordinator:"):
        return gettext(lang, N_("coordinator of institution №%(number)s"), number=grant.partition(":")[2])
    return gettext(lang, ROLE_NAMES[grant]) if grant in ROLE_NAMES else grant


_CODED = {"account", "kind", "courses"}  # facts whose values are codes with names (the rest are shown as kept)


def _value(action: str, key: str, value: object, lang: str) -> str:
    if isinstance(value, bool):
        return gettext(lang, N_("yes") if value else N_("no"))
    if isinstance(value, dict):
        return ", ".join(f"{inner}: {_value(action, key, item, lang)}" for inner, item in value.items())
    names = (ROLE_NAMES if action == "user.role_set" else STATUS_NAMES if action == "tournament.stage_moved"
             else service.VALUE_NAMES if key in _CODED else {})
    if isinstance(value, str) and value in names:
        return gettext(lang, names[value])
    return "—" if value is None or value == "" else str(value)


def _shown(event, lang: str) -> dict:
    """How the page writes one event in the reader's language: role, object and facts by name, not by code."""
    kind = service.OBJECT_NAMES.get(event.object_type)
    return {"role": _role(event.actor_role, lang),
            "object": gettext(lang, kind) if kind else event.object_type,
            "detail": [(gettext(lang, service.DETAIL_NAMES[key]) if key in service.DETAIL_NAMES else key,
                        _value(event.action, key, value, lang)) for key, value in event.detail.items()]}


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
        "log": found, "shown": functools.partial(_shown, lang=lang), "form": form, "actions": service.ACTIONS, "query": query,
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
