from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AuditEventOut(BaseModel):
    id: int
    at: datetime  # UTC
    actor_id: int | None
    actor_username: str | None
    actor_role: str
    action: str
    affected_user_id: int | None
    affected_username: str | None
    object_type: str
    object_id: str
    detail: dict
    request_id: str | None


class AuditPageOut(BaseModel):
    total: int
    page: int
    pages: int
    events: list[AuditEventOut]
