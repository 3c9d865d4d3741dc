import pytest
from sqlmodel import select

from gennation.courses.models import Enrollment, LessonProgress
from gennation.courses.service import mark_lesson_read
from gennation.platform.accounts import service
from gennation.platform.accounts.models import Role, SignIn, SignInKind, User
from gennation.platform.accounts.schemas import RegistrationIn
from gennation.platform.errors import InvalidField
from gennation.platform.limits import MemoryCounters

VALID = dict(username="Ержан_01", password="a-long-password", display_name="Ержан Әбілқайыр ұлы",
             region="almaty_city", category="adult", role="learner", language="kk")


def test_registration_keeps_kazakh_letters_and_hashes_the_password(session):
    user = service.register(session, RegistrationIn(**VALID))
    assert user.username == "ержан_01"
    assert user.display_name == "Ержан Әбілқайыр ұлы"
    assert user.password_hash.startswith("$argon2")
    assert "a-long-password" not in user.password_hash


def test_every_bad_field_is_reported_at_once(session):
    with pytest.raises(InvalidField) as raised:
        service.register(session, RegistrationIn(username="a", password="short", display_name="x" * 81,
                                                 region="mars", category="alien", school_grade="12",
                                                 role="admin", language="de"))
    assert set(raised.value.errors) == {"username", "password", "display_name", "region", "category",
                                        "school_grade", "role", "language"}


def test_duplicate_username_is_refused_case_insensitively(session):
    service.register(session, RegistrationIn(**VALID))
    with pytest.raises(InvalidField) as raised:
        service.register(session, RegistrationIn(**{**VALID, "username": "ЕРЖАН_01"}))
    assert raised.value.errors == {"username": "This username is already taken. Please choose another one."}


def test_organiser_and_admin_cannot_be_chosen_at_registration(session):
    for role in ("organiser", "admin"):
        with pytest.raises(InvalidField):
            service.register(session, RegistrationIn(**{**VALID, "role": role}))
    user = service.register(session, RegistrationIn(**VALID))
    assert service.set_role(session, user.username, Role.organiser).role == Role.organiser


def test_wrong_password_and_unknown_user_give_the_same_error(session):
    counters = MemoryCounters()
    service.register(session, RegistrationIn(**VALID))
    for username, password in (("ержан_01", "wrong-password"), ("nobody", "a-long-password")):
        assert service.authenticate(session, counters, username, password, "10.0.0.1") is None
    assert service.authenticate(session, counters, "Ержан_01", "a-long-password", "10.0.0.1").username == "ержан_01"


def test_guessing_from_one_address_waits_longer_each_time_but_the_owner_elsewhere_is_not_slowed(session, monkeypatch):
    counters = MemoryCounters()
    service.register(session, RegistrationIn(**VALID))
    for _ in range(service.FREE_PER_ACCOUNT_AND_ADDRESS):
        assert service.authenticate(session, counters, "ержан_01", "guess", "10.0.0.66") is None
    real, shift, waits = __import__("time").time, 0.0, []
    for _ in range(3):
        with pytest.raises(service.TooManyAttempts) as raised:  # even the right password waits here
            service.authenticate(session, counters, "ержан_01", "a-long-password", "10.0.0.66")
        waits.append(raised.value.retry_after)
        shift += 0.5  # an impatient guesser: every refused try counts too, so the wait keeps doubling
        monkeypatch.setattr("time.time", lambda: real() + shift)
    assert waits[0] >= 1 and waits[1] > waits[0] and waits[2] > waits[1]
    assert service.authenticate(session, counters, "ержан_01", "a-long-password", "192.168.1.5").username == "ержан_01"


def test_one_address_guessing_across_many_accounts_is_slowed_but_its_regular_users_are_not(session):
    """A school behind one address: a pupil mistyping 31 accounts' passwords must not lock the school out."""
    counters = MemoryCounters()
    service.register(session, RegistrationIn(**VALID))
    assert service.authenticate(session, counters, "ержан_01", "a-long-password", "10.9.9.9")  # signed in here before
    for n in range(service.FREE_PER_ADDRESS):
        assert service.authenticate(session, counters, f"someone{n}", "guess", "10.9.9.9") is None
    with pytest.raises(service.TooManyAttempts):
        service.authenticate(session, counters, "someone-else", "guess", "10.9.9.9")
    assert service.authenticate(session, counters, "ержан_01", "a-long-password", "10.9.9.9").username == "ержан_01"
    assert service.authenticate(session, counters, "someone-else", "guess", "10.9.9.10") is None  # another address


def test_one_ipv6_home_counts_as_one_address(session):
    counters = MemoryCounters()
    service.register(session, RegistrationIn(**VALID))
    for n in range(service.FREE_PER_ACCOUNT_AND_ADDRESS):
        assert service.authenticate(session, counters, "ержан_01", "guess", f"2001:db8:1:2::{n:x}") is None
    with pytest.raises(service.TooManyAttempts):  # a fresh address of the same /64
        service.authenticate(session, counters, "ержан_01", "guess", "2001:db8:1:2::ffff")
    assert service.authenticate(session, counters, "ержан_01", "a-long-password", "2001:db8:9:9::1")


def test_an_account_guessed_from_many_addresses_is_slowed_a_little_but_never_locked(session):
    counters = MemoryCounters()
    service.register(session, RegistrationIn(**VALID))
    for n in range(service.FREE_PER_ACCOUNT):
        service.authenticate(session, counters, "ержан_01", "guess", f"10.{n // 250}.{n % 250}.1")
    with pytest.raises(service.TooManyAttempts) as raised:
        service.authenticate(session, counters, "ержан_01", "guess", "172.16.0.1")
    assert raised.value.retry_after <= service.LONGEST_ACCOUNT_WAIT


def test_successful_login_clears_that_addresses_failures(session):
    counters = MemoryCounters()
    service.register(session, RegistrationIn(**VALID))
    for _ in range(service.FREE_PER_ACCOUNT_AND_ADDRESS - 1):
        service.authenticate(session, counters, "ержан_01", "guess", "10.0.0.1")
    service.authenticate(session, counters, "ержан_01", "a-long-password", "10.0.0.1")
    for _ in range(service.FREE_PER_ACCOUNT_AND_ADDRESS - 1):  # a fresh allowance, not one left
        assert service.authenticate(session, counters, "ержан_01", "guess", "10.0.0.1") is None


def test_registrations_from_one_address_are_limited_per_hour():
    counters = MemoryCounters()
    for _ in range(service.REGISTRATIONS_PER_HOUR):
        service.count_registration(counters, "10.1.1.1")
    with pytest.raises(service.TooManyRegistrations) as raised:
        service.count_registration(counters, "10.1.1.1")
    assert 3500 <= raised.value.retry_after <= 3600
    service.count_registration(counters, "10.1.1.2")


def test_a_password_change_ends_every_other_sign_in(session):
    user = service.register(session, RegistrationIn(**VALID))
    here = service.start_sign_in(session, user, SignInKind.browser, 3600)
    elsewhere = service.start_sign_in(session, user, SignInKind.api, 3600)
    keep = service.signed_in(session, here)[1]
    with pytest.raises(InvalidField):
        service.change_password(session, user, "not-my-password", "a-new-long-password", keep)
    service.change_password(session, user, "a-long-password", "a-new-long-password", keep)
    assert service.signed_in(session, here) is not None
    assert service.signed_in(session, elsewhere) is None


def test_an_expired_sign_in_signs_nobody_in(session):
    user = service.register(session, RegistrationIn(**VALID))
    secret = service.start_sign_in(session, user, SignInKind.api, max_age=1)
    row = session.exec(select(SignIn)).one()
    row.expires_at = row.created_at.replace(year=row.created_at.year - 1)
    session.add(row)
    session.flush()
    assert service.signed_in(session, secret) is None
    assert session.exec(select(SignIn)).all() == []


def test_only_a_hash_of_the_secret_is_kept(session):
    user = service.register(session, RegistrationIn(**VALID))
    secret = service.start_sign_in(session, user, SignInKind.browser, 3600)
    assert secret not in session.exec(select(SignIn)).one().secret_hash


def test_deleting_an_account_deletes_its_progress(session, loaded):
    user = service.register(session, RegistrationIn(**VALID))
    mark_lesson_read(session, user, loaded, loaded.lesson("first-steps"))
    with pytest.raises(InvalidField):
        service.delete_account(session, user, "not-my-password")
    service.delete_account(session, user, "a-long-password")
    session.expunge_all()
    assert session.exec(select(User)).all() == []
    assert session.exec(select(Enrollment)).all() == []
    assert session.exec(select(LessonProgress)).all() == []
