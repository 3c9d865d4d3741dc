"""FastAPI dependencies shared by every domain: the unit of work, language, current user, CSRF, forms."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.datastructures import FormData

from gennation.platform.accounts.models import Role, User
from gennation.platform.database import Database
from gennation.platform.errors import Forbidden, NotFound
from gennation.platform.i18n import negotiate
from gennation.platform.security import read_token, same_token
from gennation.platform.settings import LANGUAGES, Settings

def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def page_lang(lang: str) -> str:
    """The `{lang}` of a page path; anything else is not a page of ours."""
    if lang not in LANGUAGES:
        raise NotFound
    return lang


async def api_lang(request: Request, lang: str | None = None) -> str:
    """API language: the `lang` query parameter, else Accept-Language, else Kazakh."""
    return lang if lang in LANGUAGES else negotiate(request.headers.get("accept-language"))


def _load_user(session: Session, user_id: int, sign_in_key: str) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and same_token(user.sign_in_key, sign_in_key) else None


async def current_user(request: Request) -> User | None:
    """The signed-in person: a bearer token (API) or the signed session cookie (browser).

    An anonymous request touches no database. A signed-in one reads the person in a short unit of work
    of its own, so that async routes (the tutor) never hold a session while they wait."""
    if hasattr(request.state, "user"):
        return request.state.user
    settings: Settings = request.app.state.settings
    named = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        named = read_token(settings.secret_key, auth[7:].strip(), settings.token_max_age)
    elif "session" in request.scope and isinstance(request.session.get("uid"), int):
        named = request.session["uid"], str(request.session.get("key", ""))
    db: Database = request.app.state.db
    user = await db.run(_load_user, *named) if named else None
    request.state.user = user
    return user


async def get_session(request: Request, _user: Annotated[User | None, Depends(current_user)]) -> AsyncIterator[Session]:
    """The request's unit of work (see `Database.request_unit_of_work`). It starts once the person is
    known, so a request never waits for a second database slot while holding one."""
    async with request.app.state.db.request_unit_of_work() as session:
        yield session


# scope="function": the unit of work ends when the route returns, before the response is sent
# (a stream that follows holds no connection, and a failed commit is never reported as success).
DbSession = Annotated[Session, Depends(get_session, scope="function")]


class LoginRequired(Exception):
    """Raised by page routes; answered with a redirect to the login page (or 401 for the API)."""


def require_user(user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        raise LoginRequired
    return user


def require_role(*roles: Role):
    def check(user: Annotated[User, Depends(require_user)]) -> User:
        if user.role not in roles and user.role != Role.admin:
            raise Forbidden
        return user
    return check


class CsrfFailed(Exception):
    pass


async def form_data(request: Request) -> FormData:
    """The submitted form, read on the event loop so that the route itself can be a plain `def`."""
    return await request.form()


async def csrf_protect(request: Request) -> None:
    """Every state-changing browser request carries the session's CSRF token (form field or header)."""
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token")
    if not given:
        given = (await request.form()).get("csrf_token")
    if not same_token(expected, str(given) if given else None):
        raise CsrfFailed


CurrentUser = Annotated[User | None, Depends(current_user)]
PageUser = Annotated[User, Depends(require_user)]
ApiUser = Annotated[User, Depends(require_user)]
PageLang = Annotated[str, Depends(page_lang)]
ApiLang = Annotated[str, Depends(api_lang)]
SubmittedForm = Annotated[FormData, Depends(form_data)]
Csrf = Depends(csrf_protect)
