"""ASGI middleware of the platform: security headers on every response, and checks of request bodies."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware, GZipResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from zlib_ng import zlib_ng

# No inline scripts or styles anywhere: every script and style is a file of ours under /static.
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
          "frame-ancestors 'none'")
# Swagger UI sets style attributes from its scripts; its page alone allows them.
DOCS_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
DOCS_PATH = "/api/docs"


def security_headers(path: str, hsts: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),  # for browsers older than frame-ancestors
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"content-security-policy", (DOCS_POLICY if path == DOCS_PATH else POLICY).encode()),
    ]
    if hsts:  # only when the site is served over HTTPS (SECURE_COOKIES)
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


class SecurityHeaders:
    """The headers of `security_headers` on every response. (A 500 is answered outside all middleware,
    by Starlette's last-resort handler: `platform.app` adds them there itself.)"""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = security_headers(scope["path"], self.hsts)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class UnsafeText(HTTPException):
    """A NUL character or a lone surrogate in a field: no page or database can keep it. An HTTP
    exception, so that FastAPI lets it through from the body it was reading; answered 422 naming it."""

    def __init__(self, field: str, where: str = "body"):
        super().__init__(422)
        self.field, self.where = field, where


_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def unsafe(text: str) -> bool:
    return _UNSAFE.search(text) is not None


def _firstunsafe(value: object, path: str = "") -> str | None:
    """The dotted path of the first unsafe string (key or value) in decoded JSON, else None."""
    if isinstance(value, str):
        return path or "body" if unsafe(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        inner = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and unsafe(key):
            return inner
        found = _firstunsafe(item, inner)
        if found:
            return found
    return None


def _is_json(content_type: bytes) -> bool:
    # FastAPI reads as JSON a body without a content type, application/json and any application/*+json.
    media = content_type.split(b";", 1)[0].strip()
    return not media or media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


def unsafe_field(content_type: bytes, body: bytes) -> str | None:
    """The first field holding a NUL or a lone surrogate, in a JSON or URL-encoded body. (Multipart forms
    are checked where they are read: `platform.deps.csrf_protect`.)"""
    if _is_json(content_type):
        try:
            return _firstunsafe(json.loads(body))
        except ValueError:
            return None  # not JSON: FastAPI answers that itself
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        # Invalid UTF-8 decodes to lone surrogates here, so it is caught with them.
        for name, value in parse_qsl(body.decode("utf-8", "surrogateescape"), keep_blank_values=True,
                                     errors="surrogateescape"):
            if unsafe(name) or unsafe(value):
                return name if not unsafe(name) else "body"
    return None


class BodyGuard:
    """Refuse request bodies above `max_bytes` (declared in Content-Length or streamed; a multipart
    upload may reach `max_upload_bytes`, and each file is held to its own, smaller limit where it is
    read: `platform.files.read_upload`), and bodies with a NUL or a lone surrogate in a field.

    Both refusals are raised where the application reads the body, so they are answered like every
    other error (413 or 422, in the person's language, as JSON, page or fragment)."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max(max_upload_bytes or max_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        content_type = headers.get(b"content-type", b"").lower()
        upload = content_type.startswith(b"multipart/form-data")
        limit = self.max_upload_bytes if upload else self.max_bytes
        chunks: list[bytes] = []
        received = 0

        async def guarded_receive() -> Message:
            nonlocal received
            if not declared.isdigit() or int(declared) > limit:
                raise HTTPException(413)
            message = await receive()
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                raise HTTPException(413)
            if not upload:  # multipart fields are checked where they are read (see unsafe_field)
                chunks.append(chunk)
            if not message.get("more_body", False) and not upload:
                field = unsafe_field(content_type, b"".join(chunks))
                if field:
                    raise UnsafeText(field)
            return message

        await self.app(scope, guarded_receive, send)


class GZip(GZipMiddleware):
    """Starlette's gzip, deflated by zlib-ng: the same format, and within 2 % of zlib's size at the same
    level, in about a third of its CPU. A page shown to a signed-in person is compressed on every request
    (public pages once, into the page cache), and zlib's deflate was about a sixth of such a request's work."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "gzip" in Headers(scope=scope).get("accept-encoding", ""):
            responder = _ZlibNgResponder(self.app, self.minimum_size, compresslevel=self.compresslevel,
                                         thread_minimum_size=self.thread_minimum_size,
                                         exclude_content_types=self.exclude_content_types)
            return await responder(scope, receive, send)
        await super().__call__(scope, receive, send)


class _ZlibNgResponder(GZipResponder):
    @property
    def compressor(self):
        if self._compressor is None:
            self._compressor = zlib_ng.compressobj(self.compresslevel, zlib_ng.DEFLATED, 16 + zlib_ng.MAX_WBITS)
        return self._compressor
