"""Jinja2 templates of every domain, rendered with the request's language.

A route renders the full page, or just a fragment for an htmx request, from one call.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, PrefixLoader, select_autoescape

from gennation.platform.i18n import LANGUAGE_NAMES, gettext, ngettext
from gennation.platform.security import new_csrf_token
from gennation.platform.settings import ROOT

TEMPLATE_DIRS = {
    "frontend": ROOT / "frontend" / "templates",
    "accounts": ROOT / "platform" / "accounts" / "templates",
    "institutions": ROOT / "platform" / "institutions" / "templates",
    "courses": ROOT / "courses" / "templates",
    "tutor": ROOT / "tutor" / "templates",
}
STATIC_DIR = ROOT / "frontend" / "static"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PrefixLoader({name: FileSystemLoader(path) for name, path in TEMPLATE_DIRS.items()}),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    env.globals["static"] = static_url
    env.filters["number"] = lambda value: f"{value:g}" if isinstance(value, (int, float)) else value
    return env


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


def switch_language_url(request: Request, target: str) -> str:
    """The same page in another language: swap the first path segment."""
    parts = request.url.path.split("/")
    if len(parts) > 1 and parts[1] in LANGUAGE_NAMES:
        parts[1] = target
        path = "/".join(parts)
    else:
        path = f"/{target}/"
    return path + (f"?{request.url.query}" if request.url.query else "")


def _context(request: Request, lang: str, context: dict | None) -> dict:
    if request.session.get("lang") != lang:
        request.session["lang"] = lang  # the next visit to "/" opens in the language chosen last
    return {
        "request": request,
        "lang": lang,
        "_": lambda message, **kw: gettext(lang, message, **kw),
        "_n": lambda singular, plural, n, **kw: ngettext(lang, singular, plural, n, **kw),
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "switch_language_url": lambda target: switch_language_url(request, target),
        **(context or {}),
    }


def render_fragment(request: Request, template: str, context: dict | None = None, *, lang: str) -> str:
    """A template rendered to text, for pieces sent outside a page response (server-sent events)."""
    return environment().get_template(template).render(_context(request, lang, context))


def render(request: Request, template: str, context: dict | None = None, *, lang: str,
           fragment: str | None = None, status_code: int = 200, headers: dict | None = None) -> HTMLResponse:
    """Render `template`, or `fragment` (a template of its own, included by the page) for htmx."""
    name = fragment if fragment and is_htmx(request) else template
    html = environment().get_template(name).render(_context(request, lang, context))
    return HTMLResponse(html, status_code=status_code, headers=headers)
