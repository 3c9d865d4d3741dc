"""Site-wide pages: the root redirect, the home page and health checks."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import text

from gennation.courses import service as courses
from gennation.frontend.rendering import render
from gennation.platform.deps import CurrentUser, DbSession, PageLang, current_user
from gennation.platform.i18n import content_language, negotiate

pages = APIRouter(include_in_schema=False, dependencies=[Depends(current_user)])
api = APIRouter(tags=["health"])


@pages.get("/")
def root(request: Request):
    lang = request.session.get("lang") or negotiate(request.headers.get("accept-language"))
    return RedirectResponse(f"/{lang}/", status_code=307)


@pages.get("/{lang}/")
def home(request: Request, lang: PageLang, session: DbSession, user: CurrentUser):
    return render(request, "frontend/home.html", {"courses": courses.catalogue(session, user, content_language(lang))}, lang=lang)


@api.get("/healthz/live")
def live() -> dict:
    """Bare liveness: no database or other checks (a baseline for the page benchmark)."""
    return {"status": "ok"}


@api.get("/healthz")
def health(request: Request, session: DbSession) -> dict:
    """State of the database, Redis (when configured) and the tutor model."""
    settings = request.app.state.settings
    checks: dict[str, str] = {}
    try:
        session.exec(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {type(exc).__name__}"
    if settings.redis_url:
        import redis
        try:
            redis.Redis.from_url(settings.redis_url, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except redis.RedisError as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    else:
        checks["redis"] = "not configured (tasks run in-process)"
    checks["tutor"] = request.app.state.tutor.backend.status  # ready, loading, unavailable (workers: ready)
    model = settings.tutor_model_path
    checks["tutor_model_file"] = "present" if model and model.is_file() else "missing"
    status = "ok" if checks["database"] == "ok" and not checks["redis"].startswith("error") else "degraded"
    return {"status": status, **checks}
