import pytest
from sqlmodel import select

from gennation.courses.models import Enrollment, LessonProgress
from gennation.courses.service import mark_lesson_read
from gennation.platform.accounts import service
from gennation.platform.accounts.models import LoginAttempt, Role, User
from gennation.platform.accounts.schemas import RegistrationIn
from gennation.platform.errors import InvalidField

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
    service.register(session, RegistrationIn(**VALID))
    for username, password in (("ержан_01", "wrong-password"), ("nobody", "a-long-password")):
        assert service.authenticate(session, username, password, "10.0.0.1", limit=10) is None
    assert service.authenticate(session, "Ержан_01", "a-long-password", "10.0.0.1", limit=10).username == "ержан_01"


def test_login_is_rate_limited_per_username_even_from_other_addresses(session):
    service.register(session, RegistrationIn(**VALID))
    for attempt in range(3):
        assert service.authenticate(session, "ержан_01", "guess", f"10.0.0.{attempt}", limit=3) is None
    with pytest.raises(service.TooManyAttempts):
        service.authenticate(session, "ержан_01", "a-long-password", "10.0.0.99", limit=3)


def test_successful_login_clears_failed_attempts(session):
    service.register(session, RegistrationIn(**VALID))
    assert service.authenticate(session, "ержан_01", "guess", "10.0.0.1", limit=3) is None
    service.authenticate(session, "ержан_01", "a-long-password", "10.0.0.1", limit=3)
    assert session.exec(select(LoginAttempt)).all() == []


def test_deleting_an_account_deletes_its_progress(session, loaded):
    user = service.register(session, RegistrationIn(**VALID))
    mark_lesson_read(session, user, loaded, loaded.lesson("first-steps"))
    service.delete_account(session, user)
    session.expunge_all()
    assert session.exec(select(User)).all() == []
    assert session.exec(select(Enrollment)).all() == []
    assert session.exec(select(LessonProgress)).all() == []
