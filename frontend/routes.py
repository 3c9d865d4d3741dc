"""Site-wide pages: the root redirect, the language switch, the home page and health checks."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import text

from gennation.courses import service as courses
from gennation.frontend.rendering import LANGUAGE_COOKIE, environment, render
from gennation.platform.accounts import service as accounts
from gennation.platform.agencies import service as agencies
from gennation.platform.deps import CurrentUser, DbSession, PageLang, UnitOfWorkRoute, PagePerson
from gennation.platform.errors import NotFound
from gennation.platform.i18n import content_language, negotiate
from gennation.platform.institutions import assignments
from gennation.platform.settings import LANGUAGES
from gennation.tournament import service as tournament

pages = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[PagePerson])
api = APIRouter(route_class=UnitOfWorkRoute, tags=["health"])


@pages.get("/")
def root(request: Request, user: CurrentUser):
    """The language chosen last (the switch's cookie), else the account's, else the browser's."""
    lang = request.cookies.get(LANGUAGE_COOKIE)
    if lang not in LANGUAGES:
        lang = user.language if user else negotiate(request.headers.get("accept-language"))
    return RedirectResponse(f"/{lang}/", status_code=307)


@pages.get("/{lang}/language")
def switch_language(request: Request, lang: PageLang, session: DbSession, user: CurrentUser, next: str = ""):
    """The language switch: remember the choice without a server session, then show the page in it.
    A signed-in person's account language follows too (it is the language of their e-mails)."""
    target = next if next.startswith(f"/{lang}/") and not next.startswith("//") and "\\" not in next else f"/{lang}/"
    if user:
        accounts.update_language(session, user, lang)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax",
                        secure=request.app.state.settings.secure_cookies)
    return response


@pages.get("/{lang}/")
def home(request: Request, lang: PageLang, session: DbSession, user: CurrentUser):
    cards = courses.catalogue_cards(session, user, content_language(lang))
    mine = assignments.my_assignments(session, user) if user else []
    return render(request, "frontend/home.html", {
        "courses": cards, "assignments": mine, "states": assignments.STATE_NAMES, "local_text": assignments.local_text,
        "mandates": agencies.my_mandates(session, user) if user else [],
        "agency_invitations": agencies.invitations(session, user) if user else [],
        "agencies_coordinated": agencies.agencies_coordinated(session, user) if user else [],
        "advancements": tournament.my_advancements(session, user, unseen_only=True) if user else [],
    }, lang=lang,
                  public=courses.catalogue(session).tag if user is None else None)


@pages.get("/api/docs")
def api_docs(request: Request):
    """Swagger UI from the project's own files (no CDN), unless API_DOCS is off (production may)."""
    if not request.app.state.settings.api_docs:
        raise NotFound
    return HTMLResponse(environment().get_template("frontend/api_docs.html").render())


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
