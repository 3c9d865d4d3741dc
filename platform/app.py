"""The application factory: wires settings, database, middleware, error pages and every domain's routes."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware

from gennation.frontend.rendering import STATIC_DIR, is_htmx, render
from gennation.platform.database import make_engine
from gennation.platform.deps import CsrfFailed, LoginRequired
from gennation.platform.i18n import N_, gettext, negotiate
from gennation.platform.settings import LANGUAGES, Settings, get_settings

log = logging.getLogger("gennation")

ERROR_TEXTS = {
    403: (N_("Access denied"), N_("You do not have permission to open this page.")),
    404: (N_("Page not found"), N_("We could not find this page. It may have moved, or the address has a typo.")),
    405: (N_("Not allowed"), N_("This action is not available here.")),
    413: (N_("Too large"), N_("What you sent is too large.")),
    429: (N_("Too many requests"), N_("Please wait a little and try again.")),
    500: (N_("Something went wrong"), N_("An error occurred on our side. Your data is safe; please try again in a minute.")),
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.startswith("/healthz")


def _lang_of(request: Request) -> str:
    first = request.url.path.split("/")[1] if request.url.path.count("/") else ""
    return first if first in LANGUAGES else negotiate(request.headers.get("accept-language"))


def _error_page(request: Request, status: int):
    lang = _lang_of(request)
    title, message = ERROR_TEXTS.get(status, ERROR_TEXTS[500 if status >= 500 else 404])
    return render(request, "frontend/error.html", {"title": gettext(lang, title), "message": gettext(lang, message)},
                  lang=lang, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if _wants_json(request):
            detail = exc.detail
            if detail in (None, "") or (isinstance(detail, str) and detail == _default_reason(exc.status_code)):
                title, _msg = ERROR_TEXTS.get(exc.status_code, (N_("Error"), ""))
                detail = gettext(_lang_of(request), title)
            return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)
        return _error_page(request, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        if _wants_json(request):
            errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
            return JSONResponse({"detail": errors}, status_code=422)
        return _error_page(request, 404)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        target = f"/{_lang_of(request)}/login?next={request.url.path}"
        if is_htmx(request):
            return JSONResponse({}, status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed):
        lang = _lang_of(request)
        return render(request, "frontend/error.html", {
            "title": gettext(lang, "The form has expired"),
            "message": gettext(lang, "Please go back, reload the page and send the form again."),
        }, lang=lang, status_code=403)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        if _wants_json(request):
            return JSONResponse({"detail": gettext(_lang_of(request), ERROR_TEXTS[500][0])}, status_code=500)
        return _error_page(request, 500)


def _default_reason(status: int) -> str:
    from http import HTTPStatus
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class VersionedStaticFiles(StaticFiles):
    """Static files are linked with a content hash (`?v=`), so browsers may keep them for a year:
    a returning learner on a slow link downloads only the page itself."""

    def file_response(self, *args, **kwargs):
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the platform. Tests pass their own settings; `gennation serve` reads the environment."""
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from gennation.tutor.service import build_runtime
    tutor = build_runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.tutor.start()  # a missing or broken model: one log line, the tutor shown unavailable
        yield
        app.state.tutor.close()

    app = FastAPI(title="Generative Nation API", version="1", docs_url="/api/docs", redoc_url=None,
                  openapi_url="/openapi.json", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.tutor = tutor

    from gennation.courses import routes as courses_routes
    from gennation.frontend import routes as frontend_routes
    from gennation.platform.accounts import routes as accounts_routes
    from gennation.platform.institutions import routes as institutions_routes
    from gennation.tutor import routes as tutor_routes

    app.include_router(frontend_routes.api)
    app.include_router(accounts_routes.api)
    app.include_router(courses_routes.api)
    app.include_router(tutor_routes.api)
    app.include_router(accounts_routes.pages)
    app.include_router(institutions_routes.pages)
    app.include_router(courses_routes.pages)
    app.include_router(tutor_routes.pages)
    app.include_router(frontend_routes.pages)
    app.mount("/static", VersionedStaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="gn_session",
                       max_age=settings.session_max_age, same_site="lax", https_only=settings.secure_cookies)
    app.add_middleware(GZipMiddleware, minimum_size=500)
    _install_error_handlers(app)
    return app
