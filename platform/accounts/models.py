from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from gennation.platform import personal_data
from gennation.platform.database import utcnow


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
    # AUTOINCREMENT: SQLite never hands a deleted account's id to the next person.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, unique=True, index=True)
    # The username with look-alike letters made one (Cyrillic "а" and Latin "a"): no second account
    # may look like this one on a leaderboard or in a class list.
    username_skeleton: str = Field(default="", max_length=40, index=True)
    password_hash: str
    display_name: str = Field(max_length=80)
    role: Role = Role.learner
    region: str = Field(max_length=40)
    category: Category
    school_grade: int | None = None
    institution_id: int | None = Field(default=None, foreign_key="institution.id", ondelete="SET NULL")
    language: str = Field(default="kk", max_length=2)
    created_at: datetime = Field(default_factory=utcnow)
    # Anyone may register as a teacher; learners' data is shown to a teacher only once an admin, their
    # institution's coordinator or an operator (`gennation users set-role`) has vouched for them.
    teacher_confirmed_at: datetime | None = None
    # Replaced whenever the person's enrolments, lessons read or graded attempts change (in the same flush):
    # the key under which a process keeps their progress between pages (`courses.service.learner_state`).
    # Random, so that no other person or database can ever have the same key.
    progress_stamp: str | None = Field(default_factory=lambda: secrets.token_hex(8), max_length=16)


class SignInKind(StrEnum):
    browser = "browser"  # the session cookie of one browser
    api = "api"  # one bearer token


class SignIn(SQLModel, table=True):
    """One signed-in browser or API token. The cookie or token carries a secret whose hash names
    this row; logout, a password change and account deletion delete rows, which ends them at once."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    secret_hash: str = Field(max_length=64, unique=True)
    kind: SignInKind
    device: str = Field(default="", max_length=120)  # from the User-Agent, so the owner recognises it
    address: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


personal_data.holds("profile", User, User.id, single=True,
                    dump=lambda user: user.model_dump(exclude={"password_hash", "progress_stamp"}, mode="json"))
personal_data.holds("signed_in_devices", SignIn, SignIn.user_id,
                    dump=lambda row: row.model_dump(exclude={"secret_hash"}, mode="json"))


class FirstTimeCode(SQLModel, table=True):
    """The first-time code of an account made for someone else (a teacher's pupil, an agency's employee):
    its owner signs in once with it and chooses a password. Only the code's hash is kept; the code itself
    is shown once, on the sheet its maker prints."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", unique=True)
    code_hash: str = Field(max_length=200)
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None  # claimed: the owner has chosen a password


personal_data.holds("first_time_code", FirstTimeCode, FirstTimeCode.user_id,
                    dump=lambda row: row.model_dump(exclude={"code_hash"}, mode="json"))
