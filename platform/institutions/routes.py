"""Classes: teachers open them, learners join with a code."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from gennation.frontend.rendering import render
from gennation.platform.deps import Csrf, DbSession, PageLang, PageUser, current_user
from gennation.platform.i18n import gettext
from gennation.platform.institutions import service

pages = APIRouter(include_in_schema=False, dependencies=[Depends(current_user)])


def _page(request: Request, lang: str, session, user, error: str | None = None, form: dict | None = None,
          status_code: int = 200):
    return render(request, "institutions/classes.html", {
        "taught": service.classes_taught(session, user), "joined": service.classes_joined(session, user),
        "error": error, "form": form or {},
    }, lang=lang, status_code=status_code)


@pages.get("/{lang}/classes")
def classes_page(request: Request, lang: PageLang, session: DbSession, user: PageUser):
    return _page(request, lang, session, user)


@pages.post("/{lang}/classes", dependencies=[Csrf])
def open_class(request: Request, lang: PageLang, session: DbSession, user: PageUser,
               name: Annotated[str, Form()] = ""):
    try:
        service.open_class(session, user, name)
    except service.ClassError as error:
        return _page(request, lang, session, user, gettext(lang, error.message), {"name": name}, 422)
    return RedirectResponse(f"/{lang}/classes", status_code=303)


@pages.post("/{lang}/classes/join", dependencies=[Csrf])
def join_class(request: Request, lang: PageLang, session: DbSession, user: PageUser,
               code: Annotated[str, Form()] = ""):
    try:
        service.join_class(session, user, code)
    except service.ClassError as error:
        return _page(request, lang, session, user, gettext(lang, error.message), {"code": code}, 422)
    return RedirectResponse(f"/{lang}/classes", status_code=303)
