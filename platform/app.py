"""The application factory: wires settings, database, middleware, error pages and every domain's routes."""
from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

import sqlalchemy.exc
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from gennation.frontend.page_cache import PublicPageCache
from gennation.frontend.rendering import STATIC_DIR, error_response, is_htmx, request_language, wants_json
from gennation.platform.database import Database
from gennation.platform.deps import ApiGuard, CsrfFailed, LoginRequired, clean_address, current_user
from gennation.platform.limits import counters_for
from gennation.platform.middleware import BodyGuard, GZip, SecurityHeaders, UnsafeText, security_headers
from gennation.platform import logs, observability
from gennation.platform.errors import API_ERRORS, DomainError, InvalidField
from gennation.platform.i18n import N_, gettext
from gennation.platform.settings import Settings, get_settings

log = logging.getLogger("gennation")

async def _show_who_is_signed_in(request: Request) -> None:
    """An error page raised before its route read the person (a language that is not ours, a malformed
    address, an expired form) still shows who is signed in."""
    if hasattr(request.state, "user") or wants_json(request) or is_htmx(request):
        return
    try:
        await current_user(request)
    except Exception:  # noqa: BLE001 - an error page already: it shows nobody rather than failing
        request.state.user = None


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        await _show_who_is_signed_in(request)
        lang = request_language(request)
        message = gettext(lang, exc.message, **exc.values)
        detail, headers = None, None
        if isinstance(exc, InvalidField):
            detail = [{"loc": ["body", *field.split(".")], "msg": gettext(lang, text, **exc.values), "type": "value_error"}
                      for field, text in exc.errors.items()]
        if getattr(exc, "retry_after", None):  # RateLimited, Busy
            headers = {"Retry-After": str(exc.retry_after)}
        return error_response(request, exc.status, message, detail=detail, headers=headers)

    @app.exception_handler(UnsafeText)
    async def unsafe_text(request: Request, exc: UnsafeText):
        await _show_who_is_signed_in(request)
        lang = request_language(request)
        message = gettext(lang, "This field contains characters that cannot be kept (a NUL or a broken letter).")
        detail = [{"loc": [exc.where, *exc.field.split(".")], "msg": message, "type": "value_error"}]
        return error_response(request, 422, message, detail=detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        """Errors of the framework itself: no such route, method not allowed."""
        await _show_who_is_signed_in(request)
        return error_response(request, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        if wants_json(request):
            errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
            return JSONResponse({"detail": errors}, status_code=422)
        await _show_who_is_signed_in(request)
        return error_response(request, 404)  # a page address with a malformed part is no page of ours

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        lang = request_language(request)
        if wants_json(request):
            return error_response(request, 401, gettext(lang, "Please sign in first."),
                                  headers={"WWW-Authenticate": "Bearer"})
        target = f"/{lang}/login?next={request.url.path}"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed):
        await _show_who_is_signed_in(request)
        lang = request_language(request)
        return error_response(request, 403, gettext(lang, "Please go back, reload the page and send the form again."),
                              title="The form has expired")

    async def database_unavailable(request: Request, exc: Exception):
        """The database went away (restarting, failing over): the unit of work was rolled back, so the
        person is told that what they sent is not kept, and when to try again. The pool reconnects by itself."""
        log.warning("database unavailable on %s: %s", request.url.path, type(exc).__name__)
        lang = request_language(request)
        message = (N_("The platform is briefly unavailable. Please try again in a minute.")
                   if request.method in ("GET", "HEAD") else
                   N_("The platform is briefly unavailable, and what you just sent was not saved. Please try again "
                      "in a minute."))
        return error_response(request, 503, gettext(lang, message), headers={"Retry-After": "10"})

    for error in (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError):
        app.add_exception_handler(error, database_unavailable)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        hsts = request.app.state.settings.secure_cookies
        headers = {name.decode(): value.decode() for name, value in security_headers(request.url.path, hsts)}
        if "request_id" in request.scope:  # answered outside the middleware that adds it
            headers["X-Request-ID"] = request.scope["request_id"]
        return error_response(request, 500, headers=headers)


class VersionedStaticFiles(StaticFiles):
    """Static files are linked with a content hash (`?v=`), so browsers may keep them for a year:
    a returning learner on a slow link downloads only the page itself."""

    def file_response(self, *args, **kwargs):
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _freeze_start_up_heap() -> None:
    """What start-up built (language detector, indexes, read models) lives as long as the process: kept out
    of the garbage collector's full passes, which otherwise rescan it and pause requests for ~100 ms (the
    page benchmark's p99). Once a process: later apps in the same process (tests) leave the heap alone."""
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the platform. Tests pass their own settings; `gennation serve` reads the environment."""
    settings = settings or get_settings()
    logs.configure(settings.log_level)  # one JSON object a line, with the request id
    from gennation.tutor.service import build_runtime
    tutor = build_runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.db.reset_slots()
        app.state.tutor.start()  # a missing or broken model: one log line, the tutor shown unavailable
        # Built now rather than on someone's first question: the language detector, glossary and index.
        await app.state.db.run(app.state.tutor.warm_up)
        _freeze_start_up_heap()
        yield
        app.state.tutor.close()
        observability.process_exits()

    app = FastAPI(title="Generative Nation API", version="1", docs_url=None, redoc_url=None,
                  dependencies=[Depends(clean_address)],
                  openapi_url="/openapi.json", lifespan=lifespan)
    app.state.settings = settings
    app.state.db = Database(settings.database_url, settings.db_pool_size, content_recheck=settings.page_cache_seconds)
    app.state.engine = app.state.db.engine
    app.state.tutor = tutor
    app.state.counters = counters_for(settings.redis_url)
    observability.watch_pool(app.state.db)
    observability.watch_tutor()

    from gennation.certificates import routes as certificates_routes
    from gennation.certificates import tasks as certificates_tasks
    from gennation.courses import routes as courses_routes
    from gennation.frontend import routes as frontend_routes
    from gennation.platform.accounts import routes as accounts_routes
    from gennation.platform.agencies import routes as agencies_routes
    from gennation.platform.audit import routes as audit_routes
    from gennation.platform.institutions import routes as institutions_routes
    from gennation.platform.metrics import routes as metrics_routes
    from gennation.tournament import routes as tournament_routes
    from gennation.tournament import tasks as tournament_tasks
    from gennation.tutor import routes as tutor_routes

    certificates_tasks.install(settings)  # issue on course completion; PDFs drawn after commit
    tournament_tasks.install(settings)  # entries scored after commit; leaderboards in Redis when configured
    app.include_router(observability.router)  # /metrics, /livez, /readyz
    # First: the router tries routes in order, and lesson and course pages are most of the traffic.
    app.include_router(courses_routes.pages)
    app.include_router(frontend_routes.api)
    for router in (accounts_routes.api, courses_routes.api, tutor_routes.api, institutions_routes.api,
                   agencies_routes.api, audit_routes.api, metrics_routes.api, certificates_routes.api, tournament_routes.api):
        # Before any route: a cookie-signed state change needs the CSRF token; writes are rate-limited.
        app.include_router(router, dependencies=[ApiGuard], responses=API_ERRORS)
    app.include_router(accounts_routes.pages)
    app.include_router(institutions_routes.pages)
    app.include_router(agencies_routes.pages)
    app.include_router(audit_routes.pages)
    app.include_router(metrics_routes.pages)
    app.include_router(certificates_routes.pages)
    app.include_router(tournament_routes.pages)
    app.include_router(tutor_routes.pages)
    app.include_router(frontend_routes.pages)
    app.mount("/static", VersionedStaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="gn_session",
                       max_age=settings.session_max_age, same_site="lax", https_only=settings.secure_cookies)
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(GZip, minimum_size=500, compresslevel=6)  # zlib's default level: near 9's size, less CPU
    app.add_middleware(PublicPageCache, seconds=settings.page_cache_seconds)  # a hit skips the rest
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)  # on cached pages too
    app.add_middleware(observability.RequestTelemetry)  # outermost: request id, counts and times of everything
    _install_error_handlers(app)
    return app
