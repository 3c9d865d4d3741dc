"""Password hashing, API tokens and CSRF tokens."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown user close to a real one.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="gennation-api-token")


def issue_token(secret_key: str, user_id: int, sign_in_key: str) -> str:
    return _serializer(secret_key).dumps({"uid": user_id, "key": sign_in_key})


def read_token(secret_key: str, token: str, max_age: int) -> tuple[int, str] | None:
    """(user id, sign-in key) of a valid token; the caller checks the key against the account."""
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    return data["uid"], str(data.get("key", ""))


def new_sign_in_key() -> str:
    return secrets.token_hex(16)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and secrets.compare_digest(expected, given)
