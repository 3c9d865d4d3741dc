import pytest
from gennation.platform.accounts.models import Role
from gennation.platform.accounts.schemas import RegistrationIn
from gennation.platform.accounts.service import register, set_role
from gennation.platform.errors import NotFound
from gennation.platform.institutions import service

from tests.conftest import REGISTRATION


@pytest.fixture
def teacher(session):
    register(session, RegistrationIn(username="mugalim", language="kk", **{**REGISTRATION, "role": "teacher"}))
    return set_role(session, "mugalim", Role.teacher)


@pytest.fixture
def pupil(session):
    return register(session, RegistrationIn(username="okushy", language="kk", **REGISTRATION))


def test_a_teacher_opens_a_class_and_a_learner_joins_with_its_code(session, teacher, pupil):
    classroom = service.open_class(session, teacher, "8 «Ә» сыныбы")
    assert len(classroom.join_code) == 6 and set(classroom.join_code) <= set(service.CODE_ALPHABET)
    service.join_class(session, pupil, classroom.join_code.lower())
    service.join_class(session, pupil, classroom.join_code)  # joining twice changes nothing
    assert [u.username for u in service.members(session, classroom)] == ["okushy"]
    assert service.teaches(session, teacher, pupil.id)
    assert service.classes_joined(session, pupil)[0].name == "8 «Ә» сыныбы"


def test_learners_cannot_open_classes_and_wrong_codes_are_explained(session, pupil):
    with pytest.raises(service.ClassError):
        service.open_class(session, pupil, "Менің сыныбым")
    with pytest.raises(service.ClassError) as raised:
        service.join_class(session, pupil, "NOPE00")
    assert "code" in raised.value.message


def test_only_the_classes_own_teacher_sees_it(session, teacher, pupil):
    classroom = service.open_class(session, teacher, "9Б")
    with pytest.raises(NotFound):
        service.taught_class(session, pupil, classroom.id)
    assert service.taught_class(session, teacher, classroom.id).id == classroom.id
