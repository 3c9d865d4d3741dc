"""Accounts made for someone else: a teacher's pupils without e-mail, an agency's employees.

The maker gets a readable username and a first-time code for each person, once, to print; only the
code's hash is kept. The person claims the account at /{lang}/start with both and chooses a password;
until then the account has no password that could sign in. A code works once and for CODE_DAYS days;
a new one (for a lost sheet) makes the earlier one stop working.
"""
from __future__ import annotations

import base64
import io
import re
import secrets
from datetime import timedelta

import qrcode
from anyascii import anyascii
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from gennation.platform import limits
from gennation.platform.accounts import service
from gennation.platform.accounts.models import Category, FirstTimeCode, Role, User
from gennation.platform.accounts.schemas import ProfileIn
from gennation.platform.audit import service as audit
from gennation.platform.database import utcnow
from gennation.platform.errors import InvalidField, NotFound, RateLimited
from gennation.platform.i18n import N_
from gennation.platform.institutions.service import CODE_ALPHABET
from gennation.platform.security import hash_password

CODE_LENGTH = 8
CODE_DAYS = 30
# Never a valid argon2 hash, so no password signs in before the account is claimed.
UNCLAIMED_PASSWORD = "!unclaimed"
USERNAME_DIGITS = "23456789"  # no 0 or 1, which a child mistakes for o and l
MAX_NAME_PART = 12
# A code is 40 random bits and lives 30 days, so a far lighter hash than a password's is enough, and a
# class of thirty is hashed within one request.
_code_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
_DUMMY_CODE_HASH = _code_hasher.hash("not-a-real-code")
# A whole class claims its accounts from the school's one address at once: its typos must not lock
# the others out (guessing one account is still slowed after 5, as for passwords).
CLAIM_FREE_PER_ADDRESS = 300

WRONG_CODE = N_("This username and first-time code do not match. Check them on your sheet, or ask the "
                "person who gave it to you for a new code.")
EXPIRED_CODE = N_("This first-time code has expired. Ask the person who gave it to you for a new one.")
USED_CODE = N_("This first-time code has already been used. Sign in with the password you chose.")
ALREADY_CLAIMED = N_("This account already has its own password, so it needs no first-time code.")


class TooManyCodeAttempts(RateLimited):
    message = N_("Too many wrong codes. Please wait %(seconds)s seconds and try again.")

    def __init__(self, retry_after: int):
        super().__init__(retry_after=retry_after, seconds=retry_after)


def _hash_code(code: str) -> str:
    return _code_hasher.hash(code)


def _code_matches(code_hash: str | None, code: str) -> bool:
    # Checked against a dummy hash for an unknown username, so the time does not tell which exist.
    try:
        return _code_hasher.verify(code_hash or _DUMMY_CODE_HASH, code) and code_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def readable(code: str) -> str:
    """"ABCD-EFGH": two groups of four, to read aloud and type."""
    return f"{code[:4]}-{code[4:]}"


def normal_code(code: str) -> str:
    """The code as typed, in any case, with or without the dash or spaces."""
    return re.sub(r"[\s\-–—]", "", code).upper()[:CODE_LENGTH * 2]


def _username_base(display_name: str) -> str:
    """The first word of the name in Latin letters (Kazakh and Russian letters transliterated)."""
    for word in display_name.split():
        letters = re.sub(r"[^a-z]", "", anyascii(word).lower())
        if len(letters) >= 2:
            return letters[:MAX_NAME_PART]
    return "learner"


def _free_username(session: Session, display_name: str) -> str:
    base = _username_base(display_name)
    for attempt in range(60):
        digits = 3 + attempt // 10  # a common name, taken many times over, gets a longer number
        username = base + "".join(secrets.choice(USERNAME_DIGITS) for _ in range(digits))
        taken = session.exec(select(User.id).where(
            (User.username == username) | (User.username_skeleton == service.username_skeleton(username)))).first()
        if taken is None:
            return username
    raise RuntimeError("no free username")  # the last ten tries draw among 8**8 numbers: never in practice


def create_account(session: Session, by: User, display_name: str, *, role: Role, category: Category, region: str,
                   institution_id: int | None, language: str, school_grade: int | None = None) -> tuple[User, str]:
    """A new account made for someone else: a generated username (Latin, readable, typeable by a child,
    unique by username_skeleton) and a first-time code, returned once and stored hashed. The account has
    no usable password until claimed."""
    display_name = " ".join(display_name.split())
    errors = service.check_profile(session, ProfileIn(display_name=display_name, region=region, category=category,
                                                      school_grade=school_grade, language=language,
                                                      institution_id=institution_id))
    if errors:
        raise InvalidField(errors=errors)
    username = _free_username(session, display_name)
    user = User(username=username, username_skeleton=service.username_skeleton(username),
                password_hash=UNCLAIMED_PASSWORD, display_name=display_name, role=role, region=region,
                category=category, school_grade=school_grade, institution_id=institution_id, language=language)
    session.add(user)
    session.flush()
    code = _new_code()
    now = utcnow()
    session.add(FirstTimeCode(user_id=user.id, code_hash=_hash_code(code), created_by=by.id, created_at=now,
                              expires_at=now + timedelta(days=CODE_DAYS)))
    session.flush()
    return user, readable(code)


def code_of(session: Session, user: User) -> FirstTimeCode | None:
    return session.exec(select(FirstTimeCode).where(FirstTimeCode.user_id == user.id)).first()


def new_code(session: Session, by: User, user: User) -> str:
    """A fresh code for an account not yet claimed (the earlier code stops working); refuses claimed
    accounts with InvalidField. Only the account's maker (or an admin) may issue one."""
    row = code_of(session, user)
    if row is None or row.used_at is not None:
        raise InvalidField("user", ALREADY_CLAIMED)
    if row.created_by != by.id and by.role != Role.admin:
        raise NotFound
    code = _new_code()
    now = utcnow()
    row.code_hash, row.created_at, row.expires_at = _hash_code(code), now, now + timedelta(days=CODE_DAYS)
    session.add(row)
    audit.record(session, by, "user.first_time_code_reissued", object_type="user", object_id=user.id, affected=user)
    return readable(code)


def _aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def _count_attempt(counters: limits.Counters, username: str, address: str) -> list[tuple[str, int, int]]:
    """Counted before the code is checked, as sign-in counts passwords (see service.authenticate):
    per (account, address), per address and per account."""
    network = limits.network_of(address)
    counted = [(limits.key("claim", username, network), service.FREE_PER_ACCOUNT_AND_ADDRESS, service.LONGEST_WAIT),
               (limits.key("claim-from", network), CLAIM_FREE_PER_ADDRESS, service.LONGEST_WAIT),
               (limits.key("claim-account", username), service.FREE_PER_ACCOUNT, service.LONGEST_ACCOUNT_WAIT)]
    wait = 0
    for counter, free, longest in counted:
        before = counters.add(counter, service.FAILURE_MEMORY, sliding=True)
        wait = max(wait, limits.backoff_wait(limits.Count(before.events - 1, before.last_at, 0), free, longest))
    if wait:
        raise TooManyCodeAttempts(wait)
    return counted


def claim(session: Session, counters: limits.Counters, username: str, code: str, password: str, address: str) -> User:
    """Sets the password, marks the code used; wrong/expired/used code -> InvalidField in the user's words;
    throttled like sign-in."""
    username = service.normal_username(username)[:40]
    counted = _count_attempt(counters, username, address)
    found = session.exec(select(User, FirstTimeCode).join(FirstTimeCode, col(FirstTimeCode.user_id) == User.id)
                         .where(User.username == username)).first()
    user, row = found if found else (None, None)
    if not _code_matches(row.code_hash if row else None, normal_code(code)):
        raise InvalidField("code", WRONG_CODE)
    # The code is right: this attempt was no guess, whatever else is wrong with it.
    counters.clear(counted[0][0])
    for counter, _, _ in counted[1:]:
        counters.forget_one(counter)
    if row.used_at is not None:
        raise InvalidField("code", USED_CODE)
    if _aware(row.expires_at) <= utcnow():
        raise InvalidField("code", EXPIRED_CODE)
    if len(password) < service.PASSWORD_MIN:
        raise InvalidField("password", N_("The password must be at least 8 characters long."))
    if len(password) > service.PASSWORD_MAX:
        raise InvalidField("password", N_("The password must be at most 128 characters long."))
    user.password_hash = hash_password(password)
    row.used_at = utcnow()
    session.add(user)
    session.add(row)
    session.flush()
    return user


def cards(start: str, issued: list[tuple[User, str]], notes: dict[int, str] | None = None) -> list[dict]:
    """The printed cards of new accounts: name, username, code, where to sign in and a QR code of it
    (the username filled in, never the code). Codes exist only here: only their hashes are kept."""
    notes = notes or {}
    return [{"name": user.display_name, "username": user.username, "code": code, "start": start,
             "note": notes.get(user.id, ""), "qr": _qr_data_uri(f"{start}?username={user.username}")}
            for user, code in issued]


def _qr_data_uri(text: str) -> str:
    image = qrcode.make(text, box_size=4, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
