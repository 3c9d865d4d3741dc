"""FastAPI dependencies shared by every domain: the unit of work, language, current user, CSRF, forms."""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
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


def _secret(request: Request) -> tuple[str | None, str | None]:
    """The sign-in secret a request carries and how: a bearer token (API) or the session cookie (browser)."""
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), "token"
    if "session" in request.scope and isinstance(request.session.get("sid"), str):
        return request.session["sid"], "cookie"
    return None, None


def _unknown_person(request: Request) -> bool:
    """Whether the person must still be read from the database (a request without a secret is nobody)."""
    if hasattr(request.state, "user"):
        return False
    if _secret(request)[0] is None:
        request.state.user = request.state.sign_in = request.state.signed_in_by = None
        return False
    return True


def _look_up_person(session: Session, request: Request) -> None:
    """The person the request's secret names, read in `session` and kept on the request, detached from the
    session (as if read in a unit of work of its own): a rollback would expire it, and the error page that
    follows one still shows who is signed in. A route that changes the person adds it back."""
    secret, by = _secret(request)
    found = signed_in(session, secret)
    if found is None and by == "cookie":
        del request.session["sid"]  # an ended sign-in: the browser gets a clean cookie back
    if session.new or session.dirty or session.deleted:
        # The sign-in's own bookkeeping (a "last seen" every few minutes, an expired row removed) is kept
        # whatever the route does, and committed now, so that SQLite's one write lock and PostgreSQL's row
        # lock are not held through the page.
        commit(session)
    for row in found or ():
        session.expunge(row)
    request.state.user, request.state.sign_in = found or (None, None)
    request.state.signed_in_by = by if found else None


async def current_user(request: Request) -> User | None:
    """The signed-in person: a sign-in row that logout, a password change or deletion ends.

    An anonymous request touches no database. A signed-in one reads the person in a short unit of work
    of its own, so that async routes (the tutor) never hold a session while they wait. (A plain `def`
    route that takes the unit of work reads the person in that unit of work instead: `UnitOfWorkRoute`.)"""
    if _unknown_person(request):
        await request.app.state.db.run(_look_up_person, request)
    return request.state.user


async def current_sign_in(request: Request, _user: Annotated[User | None, Depends(current_user)]) -> SignIn | None:
    """The sign-in row of this request (to end it on logout, or keep it on a password change)."""
    return request.state.sign_in


def get_session() -> Session:
    """`DbSession` is filled in by `UnitOfWorkRoute`; a router without it gets no session, rather than a
    second, slower way of running a request."""
    raise RuntimeError("a route that takes DbSession must be on a router with route_class=UnitOfWorkRoute")


# The request's unit of work, as a route parameter: `UnitOfWorkRoute` opens it around the route, in its
# thread, and it ends when the route returns, before the response is sent (a stream that follows holds
# no connection, and a failed commit is never reported as success).
DbSession = Annotated[Session, Depends(get_session)]


class UnitOfWorkRoute(APIRoute):
    """The route class of every router here. A plain `def` route that takes the request's unit of work
    is run as one unit of work in one trip to the thread pool (`Database.run`):

    - the person is read in that unit of work and handed to the route's `CurrentUser`, `PageUser`,
      `ApiUser` and `CurrentSignIn` parameters (rather than in a trip and a transaction of their own
      before the route: a trip costs the event loop about as much as the queries of a small page);
    - the unit of work is committed in the same thread as the route returns, and rolled back when it
      raises.

    FastAPI sees such a route as an async one without its session and person parameters. `LoginRequired`
    is raised from the thread, as `require_user` would raise it."""

    def __init__(self, path: str, endpoint: Callable, **options):
        self.runs_in_one_trip = False
        if not inspect.iscoroutinefunction(endpoint):
            hints = get_type_hints(endpoint, include_extras=True)
            session_name = next((name for name, kind in hints.items() if kind == DbSession), None)
            if session_name:
                endpoint, self.runs_in_one_trip = _in_one_trip(endpoint, hints, session_name), True
                if PageUser in hints.values():  # nobody signed in: refused before the request is read
                    options["dependencies"] = [*(options.get("dependencies") or []), Depends(_someone)]
        super().__init__(path, endpoint, **options)


async def _someone(request: Request) -> None:
    """A route for signed-in people, asked without any sign-in secret: sent to sign in at once, before
    its parameters are checked and without a database slot (an ended sign-in is refused in the route)."""
    if _secret(request)[0] is None:
        raise LoginRequired


def _in_one_trip(endpoint: Callable, hints: dict, session_name: str) -> Callable:
    people = {name: _PERSON_PARAMETERS[kind] for name, kind in hints.items() if kind in _PERSON_PARAMETERS}
    request_name = next((name for name, kind in hints.items() if kind is Request), None)
    signature = inspect.signature(endpoint)
    parameters = [param.replace(annotation=hints.get(param.name, param.annotation))
                  for param in signature.parameters.values() if param.name not in (*people, session_name)]
    if request_name is None:
        parameters.append(inspect.Parameter("_request", inspect.Parameter.KEYWORD_ONLY, annotation=Request))

    def work(session: Session, request: Request, arguments: dict):
        if _unknown_person(request):
            _look_up_person(session, request)
        user = request.state.user
        for name, given in people.items():
            if given == "user" and user is None:
                raise LoginRequired
            arguments[name] = request.state.sign_in if given == "sign_in" else user
        try:
            return endpoint(**arguments, **{session_name: session})
        except BaseException:
            # A route that changed the person added it back: take it out again before the rollback
            # expires it, so that the error page can still show who is signed in.
            for row in (request.state.user, request.state.sign_in):
                if row is not None and row in session:
                    session.expunge(row)
            raise

    @functools.wraps(endpoint)
    async def route(**arguments):
        request = arguments[request_name] if request_name else arguments.pop("_request")
        return await request.app.state.db.run(work, request, arguments)

    route.__signature__ = signature.replace(parameters=parameters,
                                            return_annotation=hints.get("return", signature.return_annotation))
    return route


async def page_person(request: Request) -> None:
    """Every page shows who is signed in (the menu), so the person is known before a page is drawn; a
    route that reads the person in its own thread (`UnitOfWorkRoute`) is left to do it there."""
    if not getattr(request.scope.get("route"), "runs_in_one_trip", False):
        await current_user(request)


class LoginRequired(Exception):
    """Raised by page routes; answered with a redirect to the login page (or 401 for the API)."""


async def require_user(user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        raise LoginRequired
    return user


def require_role(*roles: Role):
    async def check(user: Annotated[User, Depends(require_user)]) -> User:  # async: no trip to the pool
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


async def api_guard(request: Request) -> None:
    """Every JSON API router: a state-changing request signed in by the session cookie (not by a
    bearer token) must carry the CSRF token in `X-CSRF-Token`, or another site could send it; every
    state-changing request counts against the writes limit. (A reading one needs no person here, so
    that its route can read the person itself: see `UnitOfWorkRoute`.)"""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    await current_user(request)
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
PagePerson = Depends(page_person)
ApiGuard = Depends(api_guard)

# The parameters `UnitOfWorkRoute` fills in a route's own thread, and what each is given.
_PERSON_PARAMETERS = {CurrentUser: "anyone", PageUser: "user", CurrentSignIn: "sign_in"}
