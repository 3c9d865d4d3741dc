"""JSON logs: one object a line (time, level, logger, message, request_id), and the request id that
links a request's lines to those of the Celery tasks it caused.

The id comes from the request's `X-Request-ID` (a proxy's, a client's) or is made here; the response
carries it back. Tasks sent while it is set carry it in a message header (`request_id`), and a worker
sets it again while it runs the task, so the task's lines carry it too.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from celery import signals

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
HEADER = "request_id"  # the Celery message header
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")  # a given id is kept only if it is this plain


def new_request_id(given: str | None = None) -> str:
    """The request's id: the one given in X-Request-ID when it is plain and short, else a new one."""
    if given and _GOOD_ID.match(given):
        return given
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the exception, when there is one, as `exception` (its traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO") -> None:
    """Every log line of the process as JSON on standard error (the root logger's one handler).
    Loggers that keep handlers of their own (uvicorn's) are given the JSON formatter too."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):  # configured again (another app in the process): one handler still
        if getattr(old, "_gennation_json", False):
            root.removeHandler(old)
    handler._gennation_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery"):
        for other in logging.getLogger(name).handlers:
            other.setFormatter(JsonFormatter())


def uvicorn_log_config(level: str = "INFO") -> dict:
    """uvicorn's logging (its server and access lines) in the same JSON format, for `gennation serve`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }


# ---------------------------------------------------------------- Celery: the id travels with the task

@signals.before_task_publish.connect
def _add_request_id(headers: dict | None = None, **_kwargs) -> None:
    current = request_id.get()
    if current and headers is not None and HEADER not in headers:
        headers[HEADER] = current


_task_tokens: dict[str, object] = {}


@signals.task_prerun.connect
def _enter_task(task_id: str | None = None, task=None, **_kwargs) -> None:
    given = getattr(task.request, HEADER, None) if task is not None else None
    if given is None and task is not None:
        given = (getattr(task.request, "headers", None) or {}).get(HEADER)
    if given and task_id:  # an eager task (in-process) keeps the request's own id as it is
        _task_tokens[task_id] = request_id.set(str(given))


@signals.task_postrun.connect
def _leave_task(task_id: str | None = None, **_kwargs) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        request_id.reset(token)  # type: ignore[arg-type]


@signals.setup_logging.connect
def _worker_logging(loglevel=None, **_kwargs) -> None:
    """A Celery worker or beat logs in the same JSON format (Celery leaves logging alone when this is
    connected)."""
    level = loglevel if isinstance(loglevel, str) else logging.getLevelName(loglevel or logging.INFO)
    configure(level)
