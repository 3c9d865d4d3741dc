"""API shapes for accounts. Field checks live in the service so HTML and API share them."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from gennation.platform.accounts.models import Category, Role, SignIn, SignInKind


class ProfileIn(BaseModel):
    """What a person may change about themselves later (PUT /api/v1/me)."""

    display_name: str = ""
    region: str = ""
    category: str = ""
    school_grade: int | str | None = None
    language: str = "kk"
    institution_id: int | str | None = None


class RegistrationIn(ProfileIn):
    username: str = ""
    password: str = ""
    role: str = "learner"


class LoginIn(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1024)  # hashing an endless "password" would cost the server


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class DeletionIn(BaseModel):
    password: str = Field(max_length=1024)


class SignInOut(BaseModel):
    id: int
    kind: SignInKind
    device: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool

    @classmethod
    def of(cls, sign_in: SignIn, current: bool) -> "SignInOut":
        return cls.model_validate({**sign_in.model_dump(), "current": current})


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


class ClaimIn(BaseModel):
    """The first sign-in of an account made for someone else: the code from the printed sheet and a new password."""

    username: str = Field(max_length=200)
    code: str = Field(max_length=40)
    password: str = Field(max_length=1024)
