"""Scoped grants (#10): admins appoint the coordinator of one institution; a school's coordinator invites
the teachers of that school (confirmed at once, with a first-time code) and nobody else's."""
import pytest
from sqlmodel import select

from gennation.platform.accounts.models import Role, User
from gennation.platform.accounts.service import set_role
from gennation.platform.i18n import gettext
from gennation.platform.institutions import service
from gennation.platform.institutions.models import Coordinator, Institution, InstitutionKind
from tests.conftest import api_token, sign_in

TEACHER = {"role": "teacher", "category": "adult", "school_grade": ""}


def user(session, username: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


@pytest.fixture
def schools(session):
    first = Institution(name="№ 12 мектеп-гимназия", name_ru="Школа-гимназия № 12", kind=InstitutionKind.school,
                        region="shymkent")
    second = Institution(name="№ 3 мектеп", name_ru="Школа № 3", kind=InstitutionKind.school, region="shymkent")
    session.add_all([first, second])
    session.commit()
    return first.id, second.id


@pytest.fixture
def admin(client, session):
    headers = api_token(client, "admin")
    set_role(session, "admin", Role.admin)
    session.commit()
    return headers


def test_an_admin_appoints_by_username_and_a_refusal_keeps_what_was_typed(client, session, schools, admin):
    first, _ = schools
    api_token(client, "not-yet-confirmed", **TEACHER)
    csrf = sign_in(client, "admin", "ru")
    refused = client.post(f"/ru/admin/institutions/{first}/coordinators",
                          data={"csrf_token": csrf, "username": "not-yet-confirmed"})
    assert refused.status_code == 422
    assert gettext("ru", "Only a confirmed teacher with an institution can coordinate it.") in refused.text
    assert 'value="not-yet-confirmed"' in refused.text
    service.confirm_teacher(session, user(session, "not-yet-confirmed").id, by=None)
    session.commit()
    appointed = client.post(f"/ru/admin/institutions/{first}/coordinators",
                            data={"csrf_token": csrf, "username": "not-yet-confirmed"}, follow_redirects=True)
    assert appointed.status_code == 200 and "not-yet-confirmed" in appointed.text
    coordinator = user(session, "not-yet-confirmed")
    assert coordinator.institution_id == first
    assert [i.id for i in service.coordinated(session, coordinator)] == [first]
    found = client.get("/ru/admin/institutions?q=гимназия")
    assert f"/ru/admin/institutions/{first}" in found.text and f"/ru/admin/institutions/{schools[1]}" not in found.text


def test_a_coordinator_invites_a_teacher_of_their_own_school_only(client, session, schools, admin):
    first, second = schools
    coordinator = api_token(client, "coordinator", **TEACHER)
    service.confirm_teacher(session, user(session, "coordinator").id, by=None)
    session.commit()
    assert client.post(f"/api/v1/institutions/{first}/coordinators", headers=admin,
                       json={"username": "coordinator"}).status_code == 201

    invited = client.post(f"/api/v1/institutions/{first}/teachers?lang=kk", headers=coordinator,
                          json={"name": "Гүлнар Әбенова"})
    assert invited.status_code == 201, invited.text
    teacher = user(session, invited.json()["username"])
    assert teacher.role == Role.teacher and teacher.institution_id == first and teacher.teacher_confirmed_at
    assert teacher.display_name == "Гүлнар Әбенова"
    # The teacher signs in with the code once, choosing a password; the code then stops working.
    claim = {"username": teacher.username, "code": invited.json()["first_time_code"], "password": "new teacher pass 7"}
    assert client.post("/api/v1/accounts/claim", json=claim).status_code == 200
    assert client.post("/api/v1/accounts/claim", json=claim).status_code == 422

    assert client.post(f"/api/v1/institutions/{second}/teachers", headers=coordinator,
                       json={"name": "Біреу"}).status_code == 404
    learner = api_token(client, "pupil")
    assert client.post(f"/api/v1/institutions/{first}/teachers", headers=learner,
                       json={"name": "Біреу"}).status_code == 404
    assert client.post(f"/api/v1/institutions/{first}/coordinators", headers=coordinator,
                       json={"username": "pupil"}).status_code == 403
    assert session.exec(select(Coordinator)).all()[0].user_id == user(session, "coordinator").id
