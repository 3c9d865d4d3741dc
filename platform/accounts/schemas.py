"""API shapes for accounts. Field checks live in the service so HTML and API share them."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from gennation.platform.accounts.models import Category, Role


class RegistrationIn(BaseModel):
    username: str = ""
    password: str = ""
    display_name: str = ""
    region: str = ""
    category: str = ""
    school_grade: int | str | None = None
    role: str = "learner"
    language: str = "kk"
    institution_id: int | str | None = None


class LoginIn(BaseModel):
    username: str
    password: str


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class ProfileOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    region: str
    category: Category
    school_grade: int | None
    institution_id: int | None
    language: str
    created_at: datetime
