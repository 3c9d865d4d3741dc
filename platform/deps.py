"""FastAPI dependencies shared by every domain: the unit of work, language, current user, CSRF, forms."""
from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Annotated, get_type_hints

from fastapi import Depends, Path, Request
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from gennation.platform import limits
from gennation.platform.accounts.models import Role, SignIn, User
from gennation.platform.accounts.service import signed_in
from gennation.platform.database import commit
from gennation.platform.errors import Forbidden, NotFound, RateLimited
from gennation.platform.i18n import N_, negotiate
from gennation.platform.middleware import UnsafeText, unsafe
from gennation.platform.security import same_token
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


def client_address(request: Request) -> str:
    """The visitor's address. `X-Forwarded-For` is believed only from the proxies named in
    TRUSTED_PROXIES (anyone else could write any address into it)."""
    settings: Settings = request.app.state.settings
    address = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded or not settings.is_trusted_proxy(address):
        return address
    # Each proxy appends the address it saw: the first one from the right that is not ours is the visitor.
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if not settings.is_trusted_proxy(hop):
            return hop[:64]
    return address


async def current_user(request: Request) -> User | None:
    """The signed-in person: a bearer token (API) or the session cookie (browser), each naming a sign-in
    row that logout, a password change or deletion ends.

    An anonymous request touches no database. A signed-in one reads the person in a short unit of work
    of its own, so that async routes (the tutor) never hold a session while they wait."""
    if hasattr(request.state, "user"):
        return request.state.user
    secret, by = None, None
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        secret, by = auth[7:].strip(), "token"
    elif "session" in request.scope and isinstance(request.session.get("sid"), str):
        secret, by = request.session["sid"], "cookie"
    found = await request.app.state.db.run(signed_in, secret) if secret else None
    if found is None and by == "cookie":
        del request.session["sid"]  # an ended sign-in: the browser gets a clean cookie back
    request.state.user, request.state.sign_in = found or (None, None)
    request.state.signed_in_by = by if found else None
    return request.state.user


async def current_sign_in(request: Request, _user: Annotated[User | None, Depends(current_user)]) -> SignIn | None:
    """The sign-in row of this request (to end it on logout, or keep it on a password change)."""
    return request.state.sign_in


async def get_session(request: Request, _user: Annotated[User | None, Depends(current_user)]) -> AsyncIterator[Session]:
    """The request's unit of work (see `Database.request_unit_of_work`). It starts once the person is
    known, so a request never waits for a second database slot while holding one."""
    async with request.app.state.db.request_unit_of_work() as session:
        yield session


# scope="function": the unit of work ends when the route returns, before the response is sent
# (a stream that follows holds no connection, and a failed commit is never reported as success).
DbSession = Annotated[Session, Depends(get_session, scope="function")]


class UnitOfWorkRoute(APIRoute):
    """The route class of every router here. A plain `def` route that takes the request's unit of work
    commits it in its own thread pool thread as it returns, instead of in one more trip to the pool when
    the dependency exits (each trip is work on the event loop, which a signed-in page is short of). On an
    exception nothing is committed here and the dependency rolls back, as for any route."""

    def __init__(self, path: str, endpoint: Callable, **options):
        if not inspect.iscoroutinefunction(endpoint):
            hints = get_type_hints(endpoint, include_extras=True)
            name = next((name for name, kind in hints.items() if kind == DbSession), None)
            if name:
                endpoint = _committing(endpoint, name)
        super().__init__(path, endpoint, **options)


def _committing(endpoint: Callable, name: str) -> Callable:
    @functools.wraps(endpoint)  # FastAPI reads the parameters through __wrapped__
    def route(*args, **kwargs):
        result = endpoint(*args, **kwargs)
        commit(kwargs[name])
        return result
    return route


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


WRITES_PER_MINUTE = 120  # per person (or address, before sign-in): far above any human, below a script


class TooManyWrites(RateLimited):
    message = N_("You are sending too much at once. Please wait %(seconds)s seconds and try again.")

    def __init__(self, retry_after: int):
        super().__init__(retry_after=retry_after, seconds=retry_after)


def _limit_writes(request: Request) -> None:
    user = getattr(request.state, "user", None)
    who = f"user:{user.id}" if user is not None else limits.network_of(client_address(request))
    wait = limits.over_limit(request.app.state.counters, limits.key("write", who), WRITES_PER_MINUTE, 60)
    if wait:
        raise TooManyWrites(wait)


async def csrf_protect(request: Request, _user: Annotated[User | None, Depends(current_user)]) -> None:
    """Every state-changing browser request carries the session's CSRF token (form field or header)."""
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token")
    if not given:
        given = (await request.form()).get("csrf_token")
    if not same_token(expected, str(given) if given else None):
        raise CsrfFailed
    form = await request.form()  # read once, kept by Starlette for the route
    for name, value in form.multi_items():  # multipart fields never pass the body guard's check
        if isinstance(value, str) and (unsafe(name) or unsafe(value)):
            raise UnsafeText(name)
    await run_in_threadpool(_limit_writes, request)  # Redis, in production: not on the event loop


async def clean_address(request: Request) -> None:
    """The query string and path of every request: a NUL or a lone surrogate there (no page or
    database can hold one) is a 422 naming the parameter."""
    for name, value in (*request.query_params.multi_items(), *request.path_params.items()):
        if isinstance(value, str) and (unsafe(name) or unsafe(value)):
            raise UnsafeText(name, where="query" if name in request.query_params else "path")


async def api_guard(request: Request, _user: Annotated[User | None, Depends(current_user)]) -> None:
    """Every JSON API router: a state-changing request signed in by the session cookie (not by a
    bearer token) must carry the CSRF token in `X-CSRF-Token`, or another site could send it; every
    state-changing request counts against the writes limit."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.state.signed_in_by == "cookie" and not same_token(request.session.get("csrf"),
                                                                 request.headers.get("x-csrf-token")):
        raise CsrfFailed
    await run_in_threadpool(_limit_writes, request)


# A row id in a path: bigger numbers are no row of ours (and would overflow the database's integer).
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
CurrentUser = Annotated[User | None, Depends(current_user)]
PageUser = Annotated[User, Depends(require_user)]
ApiUser = Annotated[User, Depends(require_user)]
PageLang = Annotated[str, Depends(page_lang)]
ApiLang = Annotated[str, Depends(api_lang)]
SubmittedForm = Annotated[FormData, Depends(form_data)]
CurrentSignIn = Annotated[SignIn | None, Depends(current_sign_in)]
Csrf = Depends(csrf_protect)
ApiGuard = Depends(api_guard)
