"""Accounts: registration, login with rate limiting, profile, data export and deletion."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session, col, delete, func, select

from gennation.platform.accounts.models import (
    REGIONS, SELF_SERVICE_ROLES, Category, LoginAttempt, Role, User,
)
from gennation.platform.accounts.schemas import RegistrationIn
from gennation.platform.database import utcnow
from gennation.platform.errors import InvalidField, NotFound, RateLimited
from gennation.platform.i18n import N_
from gennation.platform.institutions.models import Institution
from gennation.platform.security import hash_password, verify_password
from gennation.platform.settings import LANGUAGES

USERNAME_RE = re.compile(r"^[\w.-]{3,40}$")
MAX_DISPLAY_NAME = 80
PASSWORD_MIN, PASSWORD_MAX = 8, 128
LOGIN_WINDOW = timedelta(minutes=15)


class TooManyAttempts(RateLimited):
    message = N_("Too many sign-in attempts. Please wait 15 minutes and try again.")


def _as_int(value: object) -> int | None | str:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        return "invalid"


def check_registration(session: Session, data: RegistrationIn) -> dict[str, str]:
    """Return {field: message id} for every problem in a registration, empty when it is valid."""
    errors: dict[str, str] = {}
    username = data.username.strip().casefold()
    if not USERNAME_RE.fullmatch(username):
        errors["username"] = N_("Use 3 to 40 letters, digits, dots, dashes or underscores.")
    elif session.exec(select(User.id).where(User.username == username)).first() is not None:
        errors["username"] = N_("This username is already taken. Please choose another one.")
    if len(data.password) < PASSWORD_MIN:
        errors["password"] = N_("The password must be at least 8 characters long.")
    elif len(data.password) > PASSWORD_MAX:
        errors["password"] = N_("The password must be at most 128 characters long.")
    name = data.display_name.strip()
    if not name:
        errors["display_name"] = N_("Please enter your name.")
    elif len(name) > MAX_DISPLAY_NAME:
        errors["display_name"] = N_("The name must be at most 80 characters long.")
    if data.region not in REGIONS:
        errors["region"] = N_("Please choose your region.")
    if data.category not in Category.__members__:
        errors["category"] = N_("Please choose who you are.")
    grade = _as_int(data.school_grade)
    if grade is not None and (grade == "invalid" or not 1 <= grade <= 11):
        errors["school_grade"] = N_("The grade must be a number from 1 to 11.")
    if data.role not in {r.value for r in SELF_SERVICE_ROLES}:
        errors["role"] = N_("Please choose a role from the list.")
    if data.language not in LANGUAGES:
        errors["language"] = N_("Please choose a language from the list.")
    institution = _as_int(data.institution_id)
    if institution is not None and (institution == "invalid" or session.get(Institution, institution) is None):
        errors["institution_id"] = N_("Please choose an institution from the list.")
    return errors


def register(session: Session, data: RegistrationIn) -> User:
    """Create an account, or raise InvalidField naming every bad field."""
    errors = check_registration(session, data)
    if errors:
        raise InvalidField(errors=errors)
    user = User(
        username=data.username.strip().casefold(),
        password_hash=hash_password(data.password),
        display_name=data.display_name.strip(),
        role=Role(data.role),
        region=data.region,
        category=Category(data.category),
        school_grade=_as_int(data.school_grade),
        institution_id=_as_int(data.institution_id),
        language=data.language,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str, address: str, limit: int) -> User | None:
    """Check a login: the person, or None for a wrong username or password (the failure is kept, and
    counted per username and per address within 15 minutes; the caller commits it)."""
    username = username.strip().casefold()[:40]
    since = utcnow() - LOGIN_WINDOW
    recent = session.exec(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.at >= since,
            (LoginAttempt.username == username) | (LoginAttempt.address == address),
        )
    ).one()
    if recent >= limit:
        raise TooManyAttempts(retry_after=int(LOGIN_WINDOW.total_seconds()))
    user = session.exec(select(User).where(User.username == username)).first()
    if not verify_password(user.password_hash if user else None, password):
        session.add(LoginAttempt(username=username, address=address[:64]))
        return None
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.username) == username))
    return user


def update_language(session: Session, user: User, lang: str) -> None:
    if lang in LANGUAGES and user.language != lang:
        user.language = lang
        session.add(user)


def delete_account(session: Session, user: User) -> None:
    """Delete a person and, through ON DELETE CASCADE, everything that belongs to them."""
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.username) == user.username))
    session.exec(delete(User).where(col(User.id) == user.id))


def set_role(session: Session, username: str, role: Role) -> User:
    user = session.exec(select(User).where(User.username == username.casefold())).first()
    if user is None:
        raise NotFound
    user.role = role
    session.add(user)
    return user
