from datetime import timedelta

import pytest
from gennation.platform.accounts.models import Role
from gennation.platform.accounts.schemas import RegistrationIn
from gennation.platform.accounts.service import register, set_role
from gennation.platform.errors import Forbidden, NotFound
from gennation.platform.institutions import service

from tests.conftest import REGISTRATION


@pytest.fixture
def teacher(session):
    register(session, RegistrationIn(username="mugalim", language="kk", **{**REGISTRATION, "role": "teacher"}))
    return service.confirm_teacher(session, set_role(session, "mugalim", Role.teacher).id, by=None)


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
    assert [m.classroom.name for m in service.memberships(session, pupil)] == ["8 «Ә» сыныбы"]


def test_learners_cannot_open_classes_and_wrong_codes_are_explained(session, pupil):
    with pytest.raises(Forbidden):
        service.open_class(session, pupil, "Менің сыныбым")
    with pytest.raises(service.ClassError) as raised:
        service.join_class(session, pupil, "NOPE00")
    assert "code" in raised.value.message


def test_only_the_classes_own_teacher_sees_it(session, teacher, pupil):
    classroom = service.open_class(session, teacher, "9Б")
    with pytest.raises(NotFound):
        service.taught_class(session, pupil, classroom.id)
    assert service.taught_class(session, teacher, classroom.id).id == classroom.id


def test_an_unconfirmed_teacher_may_prepare_a_class_but_teaches_no_one(session, pupil):
    register(session, RegistrationIn(username="ozi", language="kk", **{**REGISTRATION, "role": "teacher"}))
    self_made = set_role(session, "ozi", Role.teacher)
    classroom = service.open_class(session, self_made, "Өз сыныбым")
    service.join_class(session, pupil, classroom.join_code)
    assert not service.teaches(session, self_made, pupil.id)
    with pytest.raises(Forbidden):
        service.class_with_learner_data(session, self_made, classroom.id)
    service.confirm_teacher(session, self_made.id, by=None)
    assert service.teaches(session, self_made, pupil.id)
    assert service.class_with_learner_data(session, self_made, classroom.id).id == classroom.id


def test_teaches_counts_from_the_moment_of_joining_and_ends_on_leaving(session, teacher, pupil):
    classroom = service.open_class(session, teacher, "10А")
    service.join_class(session, pupil, classroom.join_code)
    session.flush()
    joined_at = service.memberships(session, pupil)[0].joined_at
    assert service.teaches(session, teacher, pupil.id, at=joined_at)
    assert not service.teaches(session, teacher, pupil.id, at=joined_at - timedelta(seconds=1))
    service.leave_class(session, pupil, classroom.id)
    assert not service.teaches(session, teacher, pupil.id) and service.memberships(session, pupil) == []
    with pytest.raises(NotFound):
        service.leave_class(session, pupil, classroom.id)


def test_only_an_admin_appoints_coordinators(session, teacher, pupil):
    with pytest.raises(Forbidden):
        service.appoint_coordinator(session, teacher, teacher.id)
    with pytest.raises(Forbidden):
        service.teachers_awaiting(session, pupil)
