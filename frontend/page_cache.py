"""A micro-cache of public pages in each web process, in front of everything else.

A page the app marks public (an anonymous visitor's catalogue, course, lesson or glossary page: see
`rendering.render(public=...)`) is kept, exactly as it was sent (compressed or not), for a couple of
seconds, and sent again to the next anonymous visitors of the same address without routing, database
or rendering. This is what a reverse proxy's cache would do; keeping it in the process gives the same
relief to the embedded default, which has no proxy. A content load shows within `seconds`.
Requests with a session cookie or an Authorization header always go to the app.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gennation.frontend.rendering import etag_matches

SESSION_COOKIE = b"gn_session="


@dataclass
class _Entry:
    expires: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str


class PublicPageCache:
    def __init__(self, app: ASGIApp, seconds: float = 2.0, max_entries: int = 1024):
        self.app = app
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()

    @staticmethod
    def _key(scope: Scope) -> tuple | None:
        """The cache key of an anonymous GET, or None when the request must go to the app."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        gzip = htmx = boosted = False
        for name, value in scope["headers"]:
            if name == b"cookie" and SESSION_COOKIE in value or name == b"authorization":
                return None
            if name == b"accept-encoding":
                gzip = b"gzip" in value
            elif name == b"hx-request":
                htmx = value == b"true"
            elif name == b"hx-boosted":
                boosted = value == b"true"
        return scope["path"], scope["query_string"], gzip, htmx and not boosted

    def _fresh(self, key: tuple) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires < time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope) if self.seconds > 0 else None
        if key is None:
            return await self.app(scope, receive, send)
        entry = self._fresh(key)
        if entry is not None:
            return await self._replay(scope, entry, send)

        started: dict = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._store(key, started, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, keep)

    def _store(self, key: tuple, started: dict, body: bytes) -> None:
        headers = list(started.get("headers", []))
        values = {name.lower(): value for name, value in headers}
        if started.get("status") != 200 or not values.get(b"cache-control", b"").startswith(b"public") \
                or b"etag" not in values or b"set-cookie" in values:
            return
        self._entries[key] = _Entry(time.monotonic() + self.seconds, 200, headers, body, values[b"etag"].decode("latin-1"))
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    @staticmethod
    async def _replay(scope: Scope, entry: _Entry, send: Send) -> None:
        given = next((value for name, value in scope["headers"] if name == b"if-none-match"), b"")
        if etag_matches(given.decode("latin-1"), entry.etag):
            headers = [(n, v) for n, v in entry.headers if n.lower() in (b"etag", b"cache-control", b"vary")]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": entry.status, "headers": entry.headers})
        await send({"type": "http.response.body", "body": entry.body})
