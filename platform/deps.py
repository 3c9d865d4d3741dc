"""FastAPI dependencies shared by every domain: settings, language, current user, CSRF."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from gennation.platform.accounts.models import Role, User
from gennation.platform.database import get_session
from gennation.platform.i18n import gettext, negotiate
from gennation.platform.security import read_token, same_token
from gennation.platform.settings import LANGUAGES, Settings

DbSession = Annotated[Session, Depends(get_session)]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def page_lang(lang: str) -> str:
    """The `{lang}` of a page path; anything else is not a page of ours."""
    if lang not in LANGUAGES:
        raise HTTPException(status_code=404)
    return lang


def api_lang(request: Request, lang: str | None = None) -> str:
    """API language: the `lang` query parameter, else Accept-Language, else Kazakh."""
    return lang if lang in LANGUAGES else negotiate(request.headers.get("accept-language"))


def current_user(request: Request, session: DbSession) -> User | None:
    """The signed-in person: a bearer token (API) or the signed session cookie (browser)."""
    settings: Settings = request.app.state.settings
    user_id = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user_id = read_token(settings.secret_key, auth[7:].strip(), settings.token_max_age)
    elif "session" in request.scope:
        user_id = request.session.get("uid")
    user = session.get(User, user_id) if user_id else None
    request.state.user = user
    return user


class LoginRequired(Exception):
    """Raised by page routes; answered with a redirect to the login page."""


def require_api_user(request: Request, user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        lang = api_lang(request, request.query_params.get("lang"))
        raise HTTPException(status_code=401, detail=gettext(lang, "Please sign in first."),
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def require_page_user(user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        raise LoginRequired
    return user


def require_role(*roles: Role):
    def check(user: Annotated[User, Depends(require_page_user)]) -> User:
        if user.role not in roles and user.role != Role.admin:
            raise HTTPException(status_code=403)
        return user
    return check


class CsrfFailed(Exception):
    pass


async def csrf_protect(request: Request) -> None:
    """Every state-changing browser request carries the session's CSRF token (form field or header)."""
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token")
    if not given:
        form = await request.form()
        given = form.get("csrf_token")
    if not same_token(expected, str(given) if given else None):
        raise CsrfFailed


CurrentUser = Annotated[User | None, Depends(current_user)]
PageUser = Annotated[User, Depends(require_page_user)]
ApiUser = Annotated[User, Depends(require_api_user)]
PageLang = Annotated[str, Depends(page_lang)]
ApiLang = Annotated[str, Depends(api_lang)]
Csrf = Depends(csrf_protect)
