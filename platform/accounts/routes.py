"""Register, sign in and out, profile, data export and account deletion (pages and JSON API)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gennation.courses import service as courses
from gennation.frontend.rendering import error_response, render
from gennation.platform.accounts import service
from gennation.platform.accounts.models import REGIONS, SELF_SERVICE_ROLES, Category
from gennation.platform.accounts.schemas import LoginIn, ProfileOut, RegistrationIn, TokenOut
from gennation.platform.accounts.vocabulary import CATEGORY_NAMES, REGION_NAMES, ROLE_NAMES
from gennation.platform import personal_data
from gennation.platform.deps import (
    ApiLang, ApiUser, Csrf, DbSession, PageLang, PageUser, SubmittedForm, current_user,
)
from gennation.platform.errors import InvalidField
from gennation.platform.i18n import N_, content_language, gettext
from gennation.platform.institutions.models import Institution
from gennation.platform.security import issue_token, verify_password
from sqlmodel import select

pages = APIRouter(include_in_schema=False, dependencies=[Depends(current_user)])
api = APIRouter(prefix="/api/v1", tags=["accounts"])


WRONG_CREDENTIALS = N_("Wrong username or password.")


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(lang: str, target: str | None) -> str:
    """Only local paths, so a crafted link cannot send people elsewhere after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"/{lang}/courses"


def _form_choices(session, lang: str) -> dict:
    return {
        "regions": [(code, gettext(lang, REGION_NAMES[code])) for code in REGIONS],
        "categories": [(c.value, gettext(lang, CATEGORY_NAMES[c.value])) for c in Category],
        "roles": [(r.value, gettext(lang, ROLE_NAMES[r.value])) for r in SELF_SERVICE_ROLES],
        "institutions": [(i.id, i.name) for i in session.exec(select(Institution).order_by(Institution.name))],
    }


def _sign_in(request: Request, user) -> None:
    request.session["uid"] = user.id
    request.session["key"] = user.sign_in_key


# ---------------------------------------------------------------- pages

@pages.get("/{lang}/register")
def register_page(request: Request, lang: PageLang, session: DbSession):
    form = {"language": lang, "role": "learner"}
    return render(request, "accounts/register.html", {"form": form, "errors": {}, **_form_choices(session, lang)}, lang=lang)


@pages.post("/{lang}/register", dependencies=[Csrf])
def register_submit(request: Request, lang: PageLang, session: DbSession, raw: SubmittedForm):
    form = {key: str(raw.get(key, "")) for key in RegistrationIn.model_fields}
    form["language"] = form["language"] or lang
    form["role"] = form["role"] or "learner"
    try:
        user = service.register(session, RegistrationIn(**form))
    except InvalidField as error:
        form.pop("password", None)  # never echo a password back into the page
        errors = {field: gettext(lang, message) for field, message in error.errors.items()}
        return render(request, "accounts/register.html",
                      {"form": form, "errors": errors, **_form_choices(session, lang)},
                      lang=lang, status_code=422)
    _sign_in(request, user)
    return RedirectResponse(f"/{user.language}/courses", status_code=303)


@pages.get("/{lang}/login")
def login_page(request: Request, lang: PageLang, next: str | None = None):
    return render(request, "accounts/login.html", {"username": "", "error": None, "next": next or ""}, lang=lang)


@pages.post("/{lang}/login", dependencies=[Csrf])
def login_submit(request: Request, lang: PageLang, session: DbSession,
                 username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                 next: Annotated[str, Form()] = ""):
    settings = request.app.state.settings
    try:
        user = service.authenticate(session, username, password, _client_address(request),
                                    settings.login_attempts_per_15min)
    except service.TooManyAttempts as error:
        message, status = gettext(lang, error.message), 429
    else:
        if user:
            _sign_in(request, user)
            return RedirectResponse(_safe_next(lang, next), status_code=303)
        message, status = gettext(lang, WRONG_CREDENTIALS), 401
    return render(request, "accounts/login.html", {"username": username, "error": message, "next": next},
                  lang=lang, status_code=status)


@pages.post("/{lang}/logout", dependencies=[Csrf])
def logout(request: Request, lang: PageLang):
    request.session.clear()
    return RedirectResponse(f"/{lang}/", status_code=303)


def _account_context(session, user, lang: str, error: str | None = None) -> dict:
    return {
        "courses": [c for c in courses.catalogue_cards(session, user, content_language(lang))
                    if c.progress_percent is not None],
        "region_name": REGION_NAMES.get(user.region, user.region),
        "category_name": CATEGORY_NAMES.get(user.category.value, ""),
        "role_name": ROLE_NAMES.get(user.role.value, ""),
        "institution": session.get(Institution, user.institution_id) if user.institution_id else None,
        "error": error,
    }


@pages.get("/{lang}/account")
def account_page(request: Request, lang: PageLang, session: DbSession, user: PageUser):
    return render(request, "accounts/account.html", _account_context(session, user, lang), lang=lang)


def _export_response(data: dict) -> JSONResponse:
    return JSONResponse(data, headers={"Content-Disposition": 'attachment; filename="generative-nation-my-data.json"'})


@pages.get("/{lang}/account/export")
def account_export(lang: PageLang, session: DbSession, user: PageUser):
    return _export_response(personal_data.export(session, user.id))


@pages.post("/{lang}/account/delete", dependencies=[Csrf])
def account_delete(request: Request, lang: PageLang, session: DbSession, user: PageUser,
                   password: Annotated[str, Form()] = ""):
    if not verify_password(user.password_hash, password):
        error = gettext(lang, "The password is not correct, so the account was not deleted.")
        return render(request, "accounts/account.html", _account_context(session, user, lang, error),
                      lang=lang, status_code=400)
    service.delete_account(session, user)
    request.session.clear()
    return render(request, "frontend/error.html", {
        "title": gettext(lang, "Your account has been deleted"),
        "message": gettext(lang, "We have deleted your account and everything we kept about you."),
    }, lang=lang)


# ---------------------------------------------------------------- JSON API

@api.post("/auth/register", response_model=TokenOut, status_code=201)
def api_register(request: Request, data: RegistrationIn, session: DbSession):
    user = service.register(session, data)
    return TokenOut(access_token=issue_token(request.app.state.settings.secret_key, user.id, user.sign_in_key))


@api.post("/auth/login", response_model=TokenOut, responses={401: {"description": "Wrong username or password"},
                                                             429: {"description": "Too many attempts"}})
def api_login(request: Request, data: LoginIn, session: DbSession, lang: ApiLang):
    settings = request.app.state.settings
    user = service.authenticate(session, data.username, data.password, _client_address(request),
                                settings.login_attempts_per_15min)
    if user is None:  # answered, not raised: the failed attempt must be committed to be counted
        return error_response(request, 401, gettext(lang, WRONG_CREDENTIALS))
    return TokenOut(access_token=issue_token(settings.secret_key, user.id, user.sign_in_key))


@api.get("/me", response_model=ProfileOut)
def api_me(user: ApiUser):
    return user


@api.get("/me/export")
def api_export(session: DbSession, user: ApiUser):
    return _export_response(personal_data.export(session, user.id))


@api.delete("/me", status_code=204)
def api_delete(session: DbSession, user: ApiUser):
    service.delete_account(session, user)
    return Response(status_code=204)
