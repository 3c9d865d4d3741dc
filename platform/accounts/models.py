from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel, select

from gennation.platform import personal_data
from gennation.platform.database import utcnow
from gennation.platform.security import new_sign_in_key


class Role(StrEnum):
    learner = "learner"
    teacher = "teacher"
    civil_servant = "civil_servant"
    organiser = "organiser"
    admin = "admin"


# Roles a person may choose for themselves; organisers and admins are appointed.
SELF_SERVICE_ROLES = (Role.learner, Role.teacher, Role.civil_servant)


class Category(StrEnum):
    school_student = "school_student"
    tvet_student = "tvet_student"
    university_student = "university_student"
    adult = "adult"
    civil_servant = "civil_servant"


# The 17 regions and the 3 cities of republican significance.
REGIONS = (
    "astana", "almaty_city", "shymkent",
    "abai", "akmola", "aktobe", "almaty_region", "atyrau", "east_kazakhstan", "jambyl",
    "jetisu", "karaganda", "kostanay", "kyzylorda", "mangystau", "north_kazakhstan",
    "pavlodar", "turkistan", "ulytau", "west_kazakhstan",
)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, unique=True, index=True)
    password_hash: str
    display_name: str = Field(max_length=80)
    role: Role = Role.learner
    region: str = Field(max_length=40)
    category: Category
    school_grade: int | None = None
    institution_id: int | None = Field(default=None, foreign_key="institution.id", ondelete="SET NULL")
    language: str = Field(default="kk", max_length=2)
    created_at: datetime = Field(default_factory=utcnow)
    # Named by every cookie and token of this account: a token for an id whose account was deleted
    # (SQLite hands the id out again) does not sign in the next person who gets that id.
    sign_in_key: str = Field(default_factory=new_sign_in_key, max_length=32)


class LoginAttempt(SQLModel, table=True):
    """Failed logins, counted per username and per address to slow down guessing."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, index=True)
    address: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)


personal_data.holds("profile", User, User.id, dump=lambda user: user.model_dump(exclude={"password_hash", "sign_in_key"}, mode="json"),
                    single=True)
# Failed sign-ins are kept by username (and address) for 15 minutes, to slow down guessing.
personal_data.holds("failed_sign_ins", LoginAttempt, rows=lambda user_id: select(LoginAttempt).where(
    LoginAttempt.username == select(User.username).where(User.id == user_id).scalar_subquery()))
