"""Accounts made for someone else: a readable username and a first-time code shown once and kept only as a
hash; the owner claims the account with it and a new password; wrong, expired and used codes are refused
in the person's words, and guessing is slowed as for passwords."""
from datetime import timedelta

import pytest
from sqlmodel import select

from gennation.platform import limits
from gennation.platform.accounts import first_time, service
from gennation.platform.accounts.models import Category, FirstTimeCode, Role, User
from gennation.platform.database import utcnow
from gennation.platform.errors import InvalidField, NotFound
from gennation.platform.institutions.service import CODE_ALPHABET

NEW_PASSWORD = "my own secret 7"


@pytest.fixture
def teacher(session) -> User:
    user = User(username="mugalim", username_skeleton=service.username_skeleton("mugalim"), password_hash="x",
                display_name="Мұғалім", role=Role.teacher, region="shymkent", category=Category.adult)
    session.add(user)
    session.flush()
    return user


def make(session, teacher, name="Әлия Нұрғалиқызы") -> tuple[User, str]:
    return first_time.create_account(session, teacher, name, role=Role.learner, category=Category.school_student,
                                     region="shymkent", institution_id=None, language="kk", school_grade=5)


def test_a_made_account_has_a_latin_username_a_hashed_code_and_no_password(session, teacher):
    user, code = make(session, teacher)
    assert user.username.startswith("aliya") and user.username[5:].isdigit() and user.username.isascii()
    assert user.username_skeleton == service.username_skeleton(user.username)
    assert len(code) == 9 and code[4] == "-" and set(code.replace("-", "")) <= set(CODE_ALPHABET)
    row = session.exec(select(FirstTimeCode).where(FirstTimeCode.user_id == user.id)).one()
    assert code.replace("-", "") not in row.code_hash and row.created_by == teacher.id and row.used_at is None
    assert timedelta(days=29) < first_time._aware(row.expires_at) - utcnow() <= timedelta(days=30)
    assert service.authenticate(session, limits.MemoryCounters(), user.username, first_time.UNCLAIMED_PASSWORD,
                                "10.0.0.1") is None
    assert (user.school_grade, user.category, user.role) == (5, Category.school_student, Role.learner)


def test_russian_names_are_transliterated_and_the_same_name_gets_another_username(session, teacher):
    first, _ = make(session, teacher, "Щукина Жанна")
    second, _ = make(session, teacher, "Щукина Жанна")
    assert first.username.startswith("shchukina") and second.username.startswith("shchukina")
    assert first.username != second.username
    assert make(session, teacher, "李 小龙")[0].username.startswith("li")


def test_a_bad_name_or_region_is_refused_field_by_field(session, teacher):
    with pytest.raises(InvalidField) as error:
        first_time.create_account(session, teacher, "  ", role=Role.learner, category=Category.school_student,
                                  region="mars", institution_id=None, language="kk")
    assert set(error.value.errors) == {"display_name", "region"}


def test_the_code_claims_the_account_once_and_the_new_password_signs_in(session, teacher):
    user, code = make(session, teacher)
    counters = limits.MemoryCounters()
    claimed = first_time.claim(session, counters, user.username.upper(), code.lower().replace("-", " "),
                               NEW_PASSWORD, "10.0.0.1")
    assert claimed.id == user.id and first_time.code_of(session, user).used_at is not None
    assert service.authenticate(session, counters, user.username, NEW_PASSWORD, "10.0.0.1").id == user.id
    with pytest.raises(InvalidField) as used:
        first_time.claim(session, counters, user.username, code, "another one 99", "10.0.0.1")
    assert used.value.message == first_time.USED_CODE
    assert service.authenticate(session, counters, user.username, NEW_PASSWORD, "10.0.0.1") is not None


def test_a_wrong_code_or_username_says_they_do_not_match(session, teacher):
    user, code = make(session, teacher)
    counters = limits.MemoryCounters()
    for username, typed in ((user.username, "ABCD-EFGH"), ("nobody", code)):
        with pytest.raises(InvalidField) as error:
            first_time.claim(session, counters, username, typed, NEW_PASSWORD, "10.0.0.1")
        assert (error.value.field, error.value.message) == ("code", first_time.WRONG_CODE)
    assert first_time.code_of(session, user).used_at is None


def test_an_expired_code_is_refused_and_a_short_password_leaves_the_code_usable(session, teacher):
    user, code = make(session, teacher)
    counters = limits.MemoryCounters()
    with pytest.raises(InvalidField) as short:
        first_time.claim(session, counters, user.username, code, "short", "10.0.0.1")
    assert short.value.field == "password"
    row = first_time.code_of(session, user)
    row.expires_at = utcnow() - timedelta(minutes=1)
    session.add(row)
    session.flush()
    with pytest.raises(InvalidField) as expired:
        first_time.claim(session, counters, user.username, code, NEW_PASSWORD, "10.0.0.1")
    assert expired.value.message == first_time.EXPIRED_CODE


def test_a_new_code_stops_the_old_one_and_claimed_accounts_get_none(session, teacher):
    user, old = make(session, teacher)
    new = first_time.new_code(session, teacher, user)
    counters = limits.MemoryCounters()
    with pytest.raises(InvalidField):
        first_time.claim(session, counters, user.username, old, NEW_PASSWORD, "10.0.0.1")
    first_time.claim(session, counters, user.username, new, NEW_PASSWORD, "10.0.0.1")
    with pytest.raises(InvalidField) as claimed:
        first_time.new_code(session, teacher, user)
    assert claimed.value.message == first_time.ALREADY_CLAIMED


def test_only_the_maker_or_an_admin_issues_a_new_code(session, teacher):
    user, _ = make(session, teacher)
    other = User(username="baska", password_hash="x", display_name="Басқа", role=Role.teacher, region="astana",
                 category=Category.adult)
    session.add(other)
    session.flush()
    with pytest.raises(NotFound):
        first_time.new_code(session, other, user)
    other.role = Role.admin
    assert len(first_time.new_code(session, other, user)) == 9


def test_guessing_codes_is_slowed_like_passwords(session, teacher):
    user, code = make(session, teacher)
    counters = limits.MemoryCounters()
    for _ in range(service.FREE_PER_ACCOUNT_AND_ADDRESS):
        with pytest.raises(InvalidField):
            first_time.claim(session, counters, user.username, "ZZZZ-ZZZZ", NEW_PASSWORD, "10.0.0.1")
    with pytest.raises(first_time.TooManyCodeAttempts) as wait:
        first_time.claim(session, counters, user.username, code, NEW_PASSWORD, "10.0.0.1")
    assert wait.value.retry_after > 0
    # Another pupil in the same classroom is not held up by the guesses.
    pupil, pupil_code = make(session, teacher, "Ерлан")
    assert first_time.claim(session, counters, pupil.username, pupil_code, NEW_PASSWORD, "10.0.0.1").id == pupil.id
