"""Jinja2 templates of every domain, rendered with the request's language.

A route renders the full page, or just a fragment for an htmx request, from one call.
"""
from __future__ import annotations

import hashlib
from urllib.parse import urlencode
from functools import lru_cache

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, PrefixLoader, pass_context, select_autoescape

from gennation.platform.errors import DomainError, Forbidden, InvalidField, NotFound, RateLimited, Unavailable
from gennation.platform.i18n import LANGUAGE_NAMES, LOCALE_DIR, N_, gettext, negotiate, ngettext
from gennation.platform.security import new_csrf_token
from gennation.platform.settings import LANGUAGES, ROOT

TEMPLATE_DIRS = {
    "frontend": ROOT / "frontend" / "templates",
    "accounts": ROOT / "platform" / "accounts" / "templates",
    "institutions": ROOT / "platform" / "institutions" / "templates",
    "agencies": ROOT / "platform" / "agencies" / "templates",
    "audit": ROOT / "platform" / "audit" / "templates",
    "metrics": ROOT / "platform" / "metrics" / "templates",
    "courses": ROOT / "courses" / "templates",
    "tutor": ROOT / "tutor" / "templates",
    "certificates": ROOT / "certificates" / "templates",
    "tournament": ROOT / "tournament" / "templates",
}
STATIC_DIR = ROOT / "frontend" / "static"
PUBLIC_MAX_AGE = 60  # seconds a shared cache may serve an anonymous page before asking again


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PrefixLoader({name: FileSystemLoader(path) for name, path in TEMPLATE_DIRS.items()}),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates change with a deploy, not while serving: no file check per page
    )
    env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    env.globals["static"] = static_url
    env.filters["number"] = lambda value: f"{value:g}" if isinstance(value, (int, float)) else value
    env.filters["decimal"] = _decimal
    return env


@pass_context
def _decimal(context, value: float | None, places: int = 2) -> str:
    """A score as the page's language writes it: 33,50 in Kazakh and Russian, 33.50 in English."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0." + "0" * places, locale=context.get("lang") or "en")


@lru_cache(maxsize=64)
def _static_version(path: str) -> str:
    file = STATIC_DIR / path
    return hashlib.sha256(file.read_bytes()).hexdigest()[:10] if file.is_file() else "0"


def static_url(path: str) -> str:
    """A static file's URL with its content hash, so browsers may cache it for long."""
    return f"/static/{path}?v={_static_version(path)}"


def is_htmx(request: Request) -> bool:
    """An htmx request that wants a fragment (boosted navigation wants the whole page)."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return token


class _LazyCsrfToken:
    """The CSRF token, created (and with it the session cookie) only when a page really shows a form."""

    def __init__(self, request: Request):
        self.request = request

    def __str__(self) -> str:
        return csrf_token(self.request)

    __html__ = __str__


LANGUAGE_COOKIE = "gn_lang"


def switch_language_url(request: Request, target: str) -> str:
    """The language switch: remembers the choice in a plain cookie, then shows the same page in `target`."""
    parts = request.url.path.split("/")
    if len(parts) > 1 and parts[1] in LANGUAGE_NAMES:
        parts[1] = target
        path = "/".join(parts)
    else:
        path = f"/{target}/"
    path += f"?{request.url.query}" if request.url.query else ""
    return f"/{target}/language?" + urlencode({"next": path})


@lru_cache(maxsize=1)
def template_version() -> str:
    """A hash of everything a page is made of besides its content: templates, catalogs, static files."""
    digest = hashlib.sha256()
    folders = [*TEMPLATE_DIRS.values(), LOCALE_DIR, STATIC_DIR]
    for folder in folders:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and file.suffix in (".html", ".po", ".css", ".js", ".svg"):
                digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def _context(request: Request, lang: str, context: dict | None) -> dict:
    return {
        "request": request,
        "lang": lang,
        "_": lambda message, **kw: gettext(lang, message, **kw),
        "_n": lambda singular, plural, n, **kw: ngettext(lang, singular, plural, n, **kw),
        "user": getattr(request.state, "user", None),
        "csrf_token": _LazyCsrfToken(request),
        "switch_language_url": lambda target: switch_language_url(request, target),
        **(context or {}),
    }


def render_fragment(request: Request, template: str, context: dict | None = None, *, lang: str) -> str:
    """A template rendered to text, for pieces sent outside a page response (server-sent events)."""
    return environment().get_template(template).render(_context(request, lang, context))


def _etag(request: Request, lang: str, content: str) -> str:
    kind = "fragment" if is_htmx(request) else "page"
    return '"' + hashlib.sha256(f"{content}|{lang}|{template_version()}|{kind}".encode()).hexdigest()[:20] + '"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether a conditional request's If-None-Match names `etag` (the page in the cache is current)."""
    return if_none_match.strip() == "*" or any(tag.strip().removeprefix("W/") == etag
                                               for tag in if_none_match.split(","))


def render(request: Request, template: str, context: dict | None = None, *, lang: str,
           fragment: str | None = None, status_code: int = 200, headers: dict | None = None,
           public: str | None = None) -> Response:
    """Render `template`, or `fragment` (a template of its own, included by the page) for htmx.

    `public` (a content tag) marks a page that depends only on its URL, its language and that tag
    (an anonymous visitor's catalogue, course or lesson page): it sets no cookie, carries an ETag,
    may be kept by shared caches, and a conditional request with a matching tag gets 304 at once.
    Every other page is private to its visitor."""
    name = fragment if fragment and is_htmx(request) else template
    if public is not None:
        etag = _etag(request, lang, public)
        cache = {"ETag": etag, "Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}", "Vary": "Cookie, HX-Request"}
        if etag_matches(request.headers.get("if-none-match", ""), etag):
            return Response(status_code=304, headers=cache)
        headers = {**(headers or {}), **cache}
    else:
        headers = {"Cache-Control": "private, no-cache", "Vary": "HX-Request", **(headers or {})}
    html = environment().get_template(name).render(_context(request, lang, context))
    return HTMLResponse(html, status_code=status_code, headers=headers)


# ---------------------------------------------------------------- errors

ERROR_TEXTS = {
    400: (N_("The request could not be read"), N_("What was sent could not be read. Please check its format.")),
    401: (N_("Please sign in first."), N_("Please sign in first.")),
    403: (N_("Access denied"), Forbidden.message),
    404: (N_("Page not found"), NotFound.message),
    405: (N_("Not allowed"), DomainError.message),
    409: (N_("Changed in the meantime"), N_("Please reload the page and try again.")),
    413: (N_("Too large"), N_("What you sent is too large.")),
    429: (N_("Too many requests"), RateLimited.message),
    422: (N_("Please check what you entered"), InvalidField.message),
    500: (N_("Something went wrong"), N_("An error occurred on our side. Your data is safe; please try again in a minute.")),
    503: (N_("Not available right now"), Unavailable.message),
}


def wants_json(request: Request) -> bool:
    """API and health answers are JSON; everything else is a page."""
    return request.url.path.startswith("/api/") or request.url.path.startswith("/healthz")


def request_language(request: Request) -> str:
    """The language to answer in: the page's path, else `?lang=`, else Accept-Language."""
    first = request.url.path.split("/")[1] if request.url.path.count("/") else ""
    if first in LANGUAGES:
        return first
    asked = request.query_params.get("lang")
    return asked if asked in LANGUAGES else negotiate(request.headers.get("accept-language"))


def error_response(request: Request, status: int, message: str | None = None, *, title: str | None = None,
                   detail: object = None, headers: dict | None = None):
    """The one way an error reaches a person: JSON for the API, a fragment shown in the page's message
    area for htmx, a whole page otherwise; always in the request's language."""
    lang = request_language(request)
    default_title, default_message = ERROR_TEXTS.get(status, ERROR_TEXTS[500 if status >= 500 else 404])
    title = gettext(lang, title or default_title)
    message = message if message is not None else gettext(lang, default_message)
    if wants_json(request):
        return JSONResponse({"detail": detail if detail is not None else message}, status_code=status,
                            headers=headers)
    context = {"title": title, "message": message}
    if is_htmx(request):
        headers = {**(headers or {}), "HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
    return render(request, "frontend/error.html", context, lang=lang, fragment="frontend/_error.html",
                  status_code=status, headers=headers)
