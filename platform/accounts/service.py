"""Accounts: registration, sign-in with throttling, signed-in devices, password, deletion."""
from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from confusable_homoglyphs.confusables import confusables_data
from ua_parser import parse as parse_user_agent
from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, select

from gennation.platform import limits
from gennation.platform.accounts.models import (
    REGIONS, SELF_SERVICE_ROLES, Category, Role, SignIn, SignInKind, User,
)
from gennation.platform.accounts.schemas import ProfileIn, RegistrationIn
from gennation.platform.audit import service as audit
from gennation.platform.database import utcnow
from gennation.platform.errors import InvalidField, NotFound, RateLimited
from gennation.platform.i18n import N_
from gennation.platform.institutions.models import Coordinator, Institution
from gennation.platform.security import hash_password, new_sign_in_secret, secret_hash, verify_password
from gennation.platform.settings import LANGUAGES

USERNAME_RE = re.compile(r"^[\w.-]{3,40}$")
MAX_DISPLAY_NAME = 80
PASSWORD_MIN, PASSWORD_MAX = 8, 128
# Sign-in failures, counted per (account, address), per address and per account. From one address the
# first 5 wrong passwords for an account cost nothing, then each doubles the wait (up to 15 minutes);
# one address guessing across accounts is slowed after 30; one account guessed from many addresses is
# slowed after 50, by at most 30 seconds, so that its owner is never locked out. An address the account
# has signed in from before (a school's, a family's) is not slowed by other people's failures there.
FAILURE_MEMORY = 3600  # longer than the longest wait: sitting a wait out does not start afresh
LONGEST_WAIT, LONGEST_ACCOUNT_WAIT = 900, 30
FREE_PER_ACCOUNT_AND_ADDRESS, FREE_PER_ADDRESS, FREE_PER_ACCOUNT = 5, 30, 50
KNOWN_ADDRESS_DAYS = 90
REGISTRATIONS_PER_HOUR = 60  # per address: a whole school registers from one address
LAST_SEEN_EVERY = timedelta(minutes=5)  # a sign-in's "last used" is written at most this often


class TooManyAttempts(RateLimited):
    message = N_("Too many wrong passwords. Please wait %(seconds)s seconds and try again.")

    def __init__(self, retry_after: int):
        super().__init__(retry_after=retry_after, seconds=retry_after)


class TooManyRegistrations(RateLimited):
    message = N_("Too many accounts were registered from your network. Please try again in %(minutes)s minutes.")

    def __init__(self, retry_after: int):
        super().__init__(retry_after=retry_after, minutes=max(1, retry_after // 60))


def positive_int(value: object) -> int | None | str:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        return "invalid"
    return number if 0 < number < 2**31 else "invalid"  # a database integer


def normal_username(username: str) -> str:
    """One spelling per username: compatibility forms folded (NFKC), then case."""
    return unicodedata.normalize("NFKC", username.strip()).casefold()


def _one_step(char: str) -> str:
    homoglyphs = [h["c"] for h in confusables_data.get(char, ()) if len(h["c"]) == 1]
    ascii_ones = [c for c in homoglyphs if c.isascii()]
    if ascii_ones and not char.isascii():
        return ascii_ones[0]
    return min([char, *homoglyphs])


def _look_alike(char: str) -> str:
    # Repeated until it settles, so that Cyrillic "о" and Latin "o" both end at "0".
    for _ in range(4):
        char, before = _one_step(char), char
        if char == before:
            break
    return char


def username_skeleton(username: str) -> str:
    """What a username looks like: every letter replaced by one representative of the letters it
    cannot be told apart from (Unicode's confusables data), so "аdmin" with a Cyrillic "а" is "admin"."""
    return "".join(_look_alike(char) for char in normal_username(username))


def check_profile(session: Session, data: ProfileIn) -> dict[str, str]:
    """{field: message id} for every problem in the fields a person may change later, empty when valid."""
    errors: dict[str, str] = {}
    name = data.display_name.strip()
    if not name:
        errors["display_name"] = N_("Please enter your name.")
    elif len(name) > MAX_DISPLAY_NAME:
        errors["display_name"] = N_("The name must be at most 80 characters long.")
    if data.region not in REGIONS:
        errors["region"] = N_("Please choose your region.")
    if data.category not in Category.__members__:
        errors["category"] = N_("Please choose who you are.")
    grade = positive_int(data.school_grade)
    if grade is not None and (grade == "invalid" or not 1 <= grade <= 11):
        errors["school_grade"] = N_("The grade must be a number from 1 to 11.")
    if data.language not in LANGUAGES:
        errors["language"] = N_("Please choose a language from the list.")
    institution = positive_int(data.institution_id)
    if institution is not None and (institution == "invalid" or session.get(Institution, institution) is None):
        errors["institution_id"] = N_("Please choose an institution from the list.")
    return errors


def check_registration(session: Session, data: RegistrationIn) -> dict[str, str]:
    """Return {field: message id} for every problem in a registration, empty when it is valid."""
    errors: dict[str, str] = {}
    username = normal_username(data.username)
    if not USERNAME_RE.fullmatch(username):
        errors["username"] = N_("Use 3 to 40 letters, digits, dots, dashes or underscores.")
    elif session.exec(select(User.id).where(User.username == username)).first() is not None:
        errors["username"] = N_("This username is already taken. Please choose another one.")
    elif session.exec(select(User.id).where(User.username_skeleton == username_skeleton(username))).first():
        errors["username"] = N_("This username looks the same as one already taken. Please choose another one.")
    if len(data.password) < PASSWORD_MIN:
        errors["password"] = N_("The password must be at least 8 characters long.")
    elif len(data.password) > PASSWORD_MAX:
        errors["password"] = N_("The password must be at most 128 characters long.")
    if data.role not in {r.value for r in SELF_SERVICE_ROLES}:
        errors["role"] = N_("Please choose a role from the list.")
    errors.update(check_profile(session, data))
    return errors


def count_registration(counters: limits.Counters, address: str) -> None:
    """Count a registration attempt from `address`; raises TooManyRegistrations above the hourly limit."""
    wait = limits.over_limit(counters, limits.key("register", limits.network_of(address)), REGISTRATIONS_PER_HOUR, 3600)
    if wait:
        raise TooManyRegistrations(wait)


def register(session: Session, data: RegistrationIn) -> User:
    """Create an account, or raise InvalidField naming every bad field."""
    errors = check_registration(session, data)
    if errors:
        raise InvalidField(errors=errors)
    user = User(
        username=normal_username(data.username),
        username_skeleton=username_skeleton(data.username),
        password_hash=hash_password(data.password),
        display_name=data.display_name.strip(),
        role=Role(data.role),
        region=data.region,
        category=Category(data.category),
        school_grade=positive_int(data.school_grade),
        institution_id=positive_int(data.institution_id),
        language=data.language,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, counters: limits.Counters, username: str, password: str, address: str) -> User | None:
    """Check a sign-in: the person, or None for a wrong username or password. Raises TooManyAttempts
    while this attempt must wait after earlier failures (see FAILURE_MEMORY)."""
    username = normal_username(username)[:40]
    network = limits.network_of(address)
    pair = limits.key("login", username, network)
    known = counters.get(limits.key("known", username, network)).events > 0
    counted = [(pair, FREE_PER_ACCOUNT_AND_ADDRESS, LONGEST_WAIT)]
    if not known:
        counted += [(limits.key("login-from", network), FREE_PER_ADDRESS, LONGEST_WAIT),
                    (limits.key("login-account", username), FREE_PER_ACCOUNT, LONGEST_ACCOUNT_WAIT)]
    # Counted before the password is checked, so that a burst of parallel guesses is counted as it arrives.
    wait = 0
    for counter, free, longest in counted:
        before = counters.add(counter, FAILURE_MEMORY, sliding=True)
        wait = max(wait, limits.backoff_wait(limits.Count(before.events - 1, before.last_at, 0), free, longest))
    if wait:
        raise TooManyAttempts(wait)
    user = session.exec(select(User).where(User.username == username)).first()
    if not verify_password(user.password_hash if user else None, password):
        return None
    counters.clear(pair)
    for counter, _, _ in counted[1:]:
        counters.forget_one(counter)  # this attempt was no failure
    counters.add(limits.key("known", username, network), KNOWN_ADDRESS_DAYS * 86400, sliding=True)
    return user


def device_label(user_agent: str) -> str:
    """"Chrome · Android (Samsung SM-A536B)" from a User-Agent, so the owner recognises the device."""
    found = parse_user_agent(user_agent[:500])
    browser = found.user_agent.family if found.user_agent else ""
    system = found.os.family if found.os else ""
    device = found.device.family if found.device and found.device.family != "Other" else ""
    if not (browser or system):
        return user_agent[:60]
    return " · ".join(filter(None, [browser, system])) + (f" ({device})" if device and device not in system else "")


def start_sign_in(session: Session, user: User, kind: SignInKind, max_age: int,
                  user_agent: str = "", address: str = "") -> str:
    """Record a new signed-in browser or token; returns the secret its cookie or token carries."""
    secret = new_sign_in_secret()
    now = utcnow()
    session.add(SignIn(user_id=user.id, secret_hash=secret_hash(secret), kind=kind,
                       device=device_label(user_agent)[:120],
                       address=address[:64], created_at=now, last_seen_at=now,
                       expires_at=now + timedelta(seconds=max_age)))
    session.flush()
    return secret


# Built once: it runs on every signed-in request.
_SIGNED_IN = (select(User, SignIn).join(SignIn, col(SignIn.user_id) == User.id)
              .where(SignIn.secret_hash == bindparam("secret_hash")))


def signed_in(session: Session, secret: str) -> tuple[User, SignIn] | None:
    """The person and sign-in a secret names, if it has not ended or expired (one query)."""
    found = session.exec(_SIGNED_IN, params={"secret_hash": secret_hash(secret)}).first()
    if found is None:
        return None
    user, sign_in = found
    now = utcnow()
    if _aware(sign_in.expires_at) <= now:
        session.delete(sign_in)
        return None
    if now - _aware(sign_in.last_seen_at) > LAST_SEEN_EVERY:  # so the owner sees which devices are in use
        sign_in.last_seen_at = now
        session.add(sign_in)
    return user, sign_in


def _aware(moment):
    # SQLite gives datetimes back without their zone; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def delete_expired_sign_ins(session: Session) -> int:
    """Beat's hourly clean-up: an expired sign-in can never be used again (see `signed_in`)."""
    return session.exec(delete(SignIn).where(col(SignIn.expires_at) <= utcnow())).rowcount


def end_sign_in(session: Session, secret: str) -> None:
    session.exec(delete(SignIn).where(col(SignIn.secret_hash) == secret_hash(secret)))


def sign_ins_of(session: Session, user: User) -> list[SignIn]:
    return list(session.exec(select(SignIn).where(SignIn.user_id == user.id, SignIn.expires_at > utcnow())
                             .order_by(col(SignIn.last_seen_at).desc())))


def end_sign_in_of(session: Session, user: User, sign_in_id: int) -> None:
    """The owner ends one of their signed-in devices or tokens."""
    sign_in = session.get(SignIn, sign_in_id)
    if sign_in is None or sign_in.user_id != user.id:
        raise NotFound
    session.delete(sign_in)


def end_other_sign_ins(session: Session, user: User, keep: SignIn | None) -> None:
    query = delete(SignIn).where(col(SignIn.user_id) == user.id)
    if keep is not None:
        query = query.where(col(SignIn.id) != keep.id)
    session.exec(query)


class WrongPassword(InvalidField):
    def __init__(self, field: str = "password"):
        super().__init__(field, N_("The password is not correct."))


def change_password(session: Session, user: User, current: str, new: str, keep: SignIn | None) -> None:
    """Set a new password and end every other sign-in (a thief who knew the old one is signed out)."""
    if not verify_password(user.password_hash, current):
        raise WrongPassword("current_password")
    if len(new) < PASSWORD_MIN:
        raise InvalidField("new_password", N_("The password must be at least 8 characters long."))
    if len(new) > PASSWORD_MAX:
        raise InvalidField("new_password", N_("The password must be at most 128 characters long."))
    user.password_hash = hash_password(new)
    session.add(user)
    end_other_sign_ins(session, user, keep)


def update_profile(session: Session, user: User, data: ProfileIn) -> User:
    """Change a person's name, region, category, grade, institution and language, or raise InvalidField."""
    errors = check_profile(session, data)
    if errors:
        raise InvalidField(errors=errors)
    institution_id = positive_int(data.institution_id)
    if user.role == Role.teacher and institution_id != user.institution_id and user.teacher_confirmed_at:
        # A confirmation vouched for a teacher of that institution: another one's coordinator decides anew.
        user.teacher_confirmed_at = None
        session.exec(delete(Coordinator).where(col(Coordinator.user_id) == user.id))
    user.display_name, user.region, user.category = data.display_name.strip(), data.region, Category(data.category)
    user.school_grade, user.institution_id, user.language = positive_int(data.school_grade), institution_id, data.language
    session.add(user)
    return user


def update_language(session: Session, user: User, lang: str) -> None:
    if lang in LANGUAGES and user.language != lang:
        user.language = lang
        session.add(user)


# Subscribers to "this account is about to be deleted": fn(session, user), in the deleting unit of work
# (certificates keep a trace without personal data, and remove their PDF files after commit).
deletion_hooks: list = []


def delete_account(session: Session, user: User, password: str) -> None:
    """Delete a person and, through ON DELETE CASCADE, everything that belongs to them (their
    sign-ins too, so every cookie and token of the account stops working)."""
    if not verify_password(user.password_hash, password):
        raise WrongPassword
    for hook in deletion_hooks:
        hook(session, user)
    session.exec(delete(User).where(col(User.id) == user.id))


def set_role(session: Session, username: str, role: Role, by: User | None = None) -> User:
    """Appoint a person to a role; `by` None is an operator at the command line."""
    user = session.exec(select(User).where(User.username == normal_username(username))).first()
    if user is None:
        raise NotFound
    if user.role != role:
        audit.record(session, by, "user.role_set", object_type="user", object_id=user.id, affected=user,
                     detail={"from": user.role, "to": role})
    user.role = role
    session.add(user)
    return user
