"""Password hashing, sign-in secrets and CSRF tokens."""
from __future__ import annotations

import hashlib
import os
import secrets
import threading
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gennation.platform.database import slot_lent
from gennation.platform.errors import Busy
from gennation.platform.i18n import N_

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown user close to a real one.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

# A password costs about 0.2 s of a core. More at once than there are cores only makes each wait longer,
# and a crowd signing in together (a class, a stage opening) would wait until the proxy gives up (504):
# past PASSWORD_WAIT seconds in line a person is told plainly to try again in a few seconds instead.
_password_cores = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
PASSWORD_WAIT = 10.0


@contextmanager
def _password_core():
    with slot_lent():  # other people's pages go on meanwhile
        if not _password_cores.acquire(timeout=PASSWORD_WAIT):
            raise Busy(N_("Many people are signing in right now. Please try again in a few seconds."), retry_after=5)
        try:
            yield
        finally:
            _password_cores.release()


def hash_password(password: str) -> str:
    with _password_core():
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    with _password_core():
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False


def new_sign_in_secret() -> str:
    """The secret a session cookie or bearer token carries; only its hash is stored."""
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    # A fast hash is enough: the secret is 256 random bits, not a password.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and secrets.compare_digest(expected, given)
