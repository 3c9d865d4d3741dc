"""Register, sign in and out, profile, data export and account deletion (pages and JSON API)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gennation.courses import service as courses
from gennation.frontend.rendering import error_response, render
from gennation.platform.accounts import first_time, service
from gennation.platform.accounts.models import REGIONS, SELF_SERVICE_ROLES, Category, SignInKind
from gennation.platform.accounts.schemas import (
    ClaimIn, DeletionIn, LoginIn, PasswordChangeIn, ProfileIn, ProfileOut, RegistrationIn, SignInOut, TokenOut,
)
from gennation.platform.accounts.vocabulary import CATEGORY_NAMES, REGION_NAMES, ROLE_NAMES
from gennation.platform import personal_data
from gennation.platform.deps import (
    ApiGuard, ApiLang, ApiUser, Csrf, CurrentSignIn, DbSession, Id, PageLang, PageUser, SubmittedForm,
    UnitOfWorkRoute, client_address, PagePerson,
)
from gennation.platform.errors import InvalidField
from gennation.platform.i18n import N_, content_language, gettext
from gennation.platform.institutions import directory
from gennation.platform.institutions.models import Institution

pages = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[PagePerson])
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["accounts"], dependencies=[ApiGuard])


WRONG_CREDENTIALS = N_("Wrong username or password.")


def _safe_next(lang: str, target: str | None) -> str:
    """Only local paths, so a crafted link cannot send people elsewhere after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"/{lang}/courses"


def _finding(raw, form: dict) -> bool:
    """The institution search's "Find" was pressed. Enter in any other field presses it too (it is the
    form's first button): with nothing typed in the search box, that is the form's own action."""
    return bool(raw.get("find_institution")) and bool(form.get("institution_q", "").strip())


def _form_choices(session, lang: str, form: dict) -> dict:
    """The registration form's lists; institutions are found by name (the directory is large)."""
    chosen = service.positive_int(form.get("institution_id"))
    return {
        "regions": [(code, gettext(lang, REGION_NAMES[code])) for code in REGIONS],
        "categories": [(c.value, gettext(lang, CATEGORY_NAMES[c.value])) for c in Category],
        "roles": [(r.value, gettext(lang, ROLE_NAMES[r.value])) for r in SELF_SERVICE_ROLES],
        "region_names": REGION_NAMES,
        "institution_query": form.get("institution_q", ""),
        "institution_matches": directory.search(session, form.get("institution_q", "")),
        "chosen_institution": session.get(Institution, chosen) if isinstance(chosen, int) else None,
    }


def _start(request: Request, session, user, kind: SignInKind) -> str:
    settings = request.app.state.settings
    max_age = settings.session_max_age if kind == SignInKind.browser else settings.token_max_age
    return service.start_sign_in(session, user, kind, max_age, request.headers.get("user-agent", ""),
                                 client_address(request))


def _sign_in(request: Request, session, user) -> None:
    # A fresh cookie (and CSRF token): nothing set before sign-in carries over into the account.
    request.session.clear()
    request.session["sid"] = _start(request, session, user, SignInKind.browser)


def _token(request: Request, session, user) -> TokenOut:
    return TokenOut(access_token=_start(request, session, user, SignInKind.api))


# ---------------------------------------------------------------- pages

@pages.get("/{lang}/register")
def register_page(request: Request, lang: PageLang, session: DbSession):
    form = {"language": lang, "role": "learner"}
    return render(request, "accounts/register.html", {"form": form, "errors": {}, **_form_choices(session, lang, form)},
                  lang=lang)


@pages.post("/{lang}/register", dependencies=[Csrf])
def register_submit(request: Request, lang: PageLang, session: DbSession, raw: SubmittedForm):
    form = {key: str(raw.get(key, "")) for key in (*RegistrationIn.model_fields, "institution_q")}
    form["language"] = form["language"] or lang
    form["role"] = form["role"] or "learner"
    if _finding(raw, form):  # "Find" without JavaScript: the same form, with the matches to choose from
        form.pop("password", None)
        return render(request, "accounts/register.html",
                      {"form": form, "errors": {}, **_form_choices(session, lang, form)}, lang=lang)
    try:
        service.count_registration(request.app.state.counters, client_address(request))
        user = service.register(session, RegistrationIn(**form))
    except (InvalidField, service.TooManyRegistrations) as error:
        form.pop("password", None)  # never echo a password back into the page
        if isinstance(error, InvalidField):
            errors, status, headers = {f: gettext(lang, m) for f, m in error.errors.items()}, 422, None
        else:  # the form comes back filled in, with when to try again
            errors, status = {"form": gettext(lang, error.message, **error.values)}, 429
            headers = {"Retry-After": str(error.retry_after)}
        return render(request, "accounts/register.html",
                      {"form": form, "errors": errors, **_form_choices(session, lang, form)},
                      lang=lang, status_code=status, headers=headers)
    _sign_in(request, session, user)
    return RedirectResponse(f"/{user.language}/courses", status_code=303)


@pages.get("/{lang}/login")
def login_page(request: Request, lang: PageLang, next: str | None = None):
    return render(request, "accounts/login.html", {"username": "", "error": None, "next": next or ""}, lang=lang)


@pages.post("/{lang}/login", dependencies=[Csrf])
def login_submit(request: Request, lang: PageLang, session: DbSession,
                 username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                 next: Annotated[str, Form()] = ""):
    headers = None
    try:
        user = service.authenticate(session, request.app.state.counters, username, password, client_address(request))
    except service.TooManyAttempts as error:
        message, status = gettext(lang, error.message, **error.values), 429
        headers = {"Retry-After": str(error.retry_after)}
    else:
        if user:
            _sign_in(request, session, user)
            return RedirectResponse(_safe_next(lang, next), status_code=303)
        message, status = gettext(lang, WRONG_CREDENTIALS), 401
    return render(request, "accounts/login.html", {"username": username, "error": message, "next": next},
                  lang=lang, status_code=status, headers=headers)


@pages.post("/{lang}/logout", dependencies=[Csrf])
def logout(request: Request, lang: PageLang, session: DbSession):
    if isinstance(request.session.get("sid"), str):
        service.end_sign_in(session, request.session["sid"])
    request.session.clear()
    return RedirectResponse(f"/{lang}/", status_code=303)


def _account_context(session, user, lang: str, sign_in=None, errors: dict | None = None) -> dict:
    return {
        "sign_ins": service.sign_ins_of(session, user),
        "this_sign_in": sign_in.id if sign_in else None,
        "errors": errors or {},
        "courses": [c for c in courses.catalogue_cards(session, user, content_language(lang))
                    if c.progress_percent is not None],
        "region_name": REGION_NAMES.get(user.region, user.region),
        "category_name": CATEGORY_NAMES.get(user.category.value, ""),
        "role_name": ROLE_NAMES.get(user.role.value, ""),
        "institution": session.get(Institution, user.institution_id) if user.institution_id else None,
    }


@pages.get("/{lang}/account")
def account_page(request: Request, lang: PageLang, session: DbSession, user: PageUser, sign_in: CurrentSignIn):
    return render(request, "accounts/account.html", _account_context(session, user, lang, sign_in), lang=lang)


def _account_errors(request, session, user, lang, sign_in, error: InvalidField):
    errors = {field: gettext(lang, message) for field, message in error.errors.items()}
    return render(request, "accounts/account.html", _account_context(session, user, lang, sign_in, errors),
                  lang=lang, status_code=422)


@pages.post("/{lang}/account/password", dependencies=[Csrf])
def account_password(request: Request, lang: PageLang, session: DbSession, user: PageUser, sign_in: CurrentSignIn,
                     current_password: Annotated[str, Form()] = "", new_password: Annotated[str, Form()] = ""):
    try:
        service.change_password(session, user, current_password, new_password, keep=sign_in)
    except InvalidField as error:
        return _account_errors(request, session, user, lang, sign_in, error)
    return RedirectResponse(f"/{lang}/account?changed=password#sign-ins", status_code=303)


@pages.post("/{lang}/account/sign-ins/{sign_in_id}/end", dependencies=[Csrf])
def account_end_sign_in(lang: PageLang, session: DbSession, user: PageUser, sign_in_id: Id):
    service.end_sign_in_of(session, user, sign_in_id)
    return RedirectResponse(f"/{lang}/account#sign-ins", status_code=303)


def _export_response(data: dict) -> JSONResponse:
    return JSONResponse(data, headers={"Content-Disposition": 'attachment; filename="generative-nation-my-data.json"'})


PROFILE_FIELDS = (*ProfileIn.model_fields, "institution_q")


@pages.get("/{lang}/account/profile")
def profile_page(request: Request, lang: PageLang, session: DbSession, user: PageUser):
    form = {key: "" if getattr(user, key, None) is None else str(getattr(user, key, "")) for key in PROFILE_FIELDS}
    form["category"] = user.category.value
    return render(request, "accounts/profile.html", {"form": form, "errors": {}, **_form_choices(session, lang, form)},
                  lang=lang)


@pages.post("/{lang}/account/profile", dependencies=[Csrf])
def profile_submit(request: Request, lang: PageLang, session: DbSession, user: PageUser, raw: SubmittedForm):
    form = {key: str(raw.get(key, "")) for key in PROFILE_FIELDS}
    if not _finding(raw, form):
        try:
            service.update_profile(session, user, ProfileIn(**form))
        except InvalidField as error:
            errors = {field: gettext(lang, message) for field, message in error.errors.items()}
            return render(request, "accounts/profile.html",
                          {"form": form, "errors": errors, **_form_choices(session, lang, form)},
                          lang=lang, status_code=422)
        return RedirectResponse(f"/{user.language}/account", status_code=303)
    return render(request, "accounts/profile.html", {"form": form, "errors": {}, **_form_choices(session, lang, form)},
                  lang=lang)


@pages.get("/{lang}/account/export")
def account_export(lang: PageLang, session: DbSession, user: PageUser):
    return _export_response(personal_data.export(session, user.id))


@pages.post("/{lang}/account/delete", dependencies=[Csrf])
def account_delete(request: Request, lang: PageLang, session: DbSession, user: PageUser,
                   password: Annotated[str, Form()] = ""):
    try:
        service.delete_account(session, user, password)
    except InvalidField:
        errors = {"delete_password": gettext(lang, "The password is not correct, so the account was not deleted.")}
        return render(request, "accounts/account.html", _account_context(session, user, lang, errors=errors),
                      lang=lang, status_code=400)
    request.session.clear()
    return render(request, "frontend/error.html", {
        "title": gettext(lang, "Your account has been deleted"),
        "message": gettext(lang, "We have deleted your account and everything we kept about you."),
    }, lang=lang)


# ---------------------------------------------------------------- JSON API

RATE_LIMITED = {429: {"description": "Too many attempts; `Retry-After` says when to try again"}}


@api.post("/auth/register", response_model=TokenOut, status_code=201, responses=RATE_LIMITED)
def api_register(request: Request, data: RegistrationIn, session: DbSession):
    service.count_registration(request.app.state.counters, client_address(request))
    user = service.register(session, data)
    return _token(request, session, user)


@api.post("/auth/login", response_model=TokenOut,
          responses={401: {"description": "Wrong username or password"}, **RATE_LIMITED})
def api_login(request: Request, data: LoginIn, session: DbSession, lang: ApiLang):
    user = service.authenticate(session, request.app.state.counters, data.username, data.password,
                                client_address(request))
    if user is None:
        return error_response(request, 401, gettext(lang, WRONG_CREDENTIALS))
    return _token(request, session, user)


@api.post("/auth/logout", status_code=204)
def api_logout(session: DbSession, user: ApiUser, sign_in: CurrentSignIn):
    """End the sign-in (token or cookie) this request was made with."""
    service.end_sign_in_of(session, user, sign_in.id)
    return Response(status_code=204)


@api.get("/me", response_model=ProfileOut)
def api_me(user: ApiUser):
    return user


@api.put("/me", response_model=ProfileOut)
def api_update_me(data: ProfileIn, session: DbSession, user: ApiUser):
    """Change my name, region, category, grade, institution and language."""
    return service.update_profile(session, user, data)


@api.get("/me/sign-ins", response_model=list[SignInOut])
def api_sign_ins(session: DbSession, user: ApiUser, sign_in: CurrentSignIn):
    """Signed-in browsers and API tokens of this account, the one in use marked `current`."""
    return [SignInOut.of(row, current=row.id == sign_in.id) for row in service.sign_ins_of(session, user)]


@api.delete("/me/sign-ins/{sign_in_id}", status_code=204)
def api_end_sign_in(session: DbSession, user: ApiUser, sign_in_id: Id):
    service.end_sign_in_of(session, user, sign_in_id)
    return Response(status_code=204)


@api.post("/me/password", status_code=204)
def api_password(data: PasswordChangeIn, session: DbSession, user: ApiUser, sign_in: CurrentSignIn):
    """Change the password; every other sign-in of the account ends."""
    service.change_password(session, user, data.current_password, data.new_password, keep=sign_in)
    return Response(status_code=204)


@api.get("/me/export")
def api_export(session: DbSession, user: ApiUser):
    return _export_response(personal_data.export(session, user.id))


@api.delete("/me", status_code=204)
def api_delete(data: DeletionIn, session: DbSession, user: ApiUser):
    """Delete the account and everything kept about the person; needs the password."""
    service.delete_account(session, user, data.password)
    return Response(status_code=204)


# ---------------------------------------------------------------- first sign-in of an account made for someone

START_FIELDS = ("username", "code")


@pages.get("/{lang}/start")
def start_page(request: Request, lang: PageLang, username: Annotated[str, Query(max_length=40)] = ""):
    """The first sign-in with the code from a printed sheet (its QR code opens this with the username)."""
    return render(request, "accounts/start.html", {"form": {"username": username}, "errors": {}}, lang=lang)


@pages.post("/{lang}/start", dependencies=[Csrf])
def start_submit(request: Request, lang: PageLang, session: DbSession, raw: SubmittedForm):
    form = {key: str(raw.get(key, ""))[:200] for key in START_FIELDS}
    password, again = str(raw.get("password", ""))[:1024], str(raw.get("password2", ""))[:1024]
    headers, status = None, 422
    if password != again:
        errors = {"password2": gettext(lang, "The two passwords are not the same.")}
    else:
        try:
            user = first_time.claim(session, request.app.state.counters, form["username"], form["code"], password,
                                    client_address(request))
        except InvalidField as error:
            errors = {field: gettext(lang, message) for field, message in error.errors.items()}
        except first_time.TooManyCodeAttempts as error:
            errors, status = {"form": gettext(lang, error.message, **error.values)}, 429
            headers = {"Retry-After": str(error.retry_after)}
        else:
            service.update_language(session, user, lang)  # the language they chose to read the page in
            _sign_in(request, session, user)
            return RedirectResponse(f"/{lang}/", status_code=303)
    return render(request, "accounts/start.html", {"form": form, "errors": errors}, lang=lang,
                  status_code=status, headers=headers)


@api.post("/accounts/claim", response_model=TokenOut, responses={**RATE_LIMITED, 422: {
    "description": "Wrong username or code, an expired or used code, or a bad password"}})
def api_claim(request: Request, data: ClaimIn, session: DbSession):
    """The first sign-in of an account someone made for you: the first-time code from your sheet and a new
    password. Answers a token, as sign-in does; the code then no longer works."""
    user = first_time.claim(session, request.app.state.counters, data.username, data.code, data.password,
                            client_address(request))
    return _token(request, session, user)
