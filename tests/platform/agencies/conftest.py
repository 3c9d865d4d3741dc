"""The world of the agency tests: two agencies, an admin, the coordinator of the first, and a course
completed by its final exam."""
import shutil

import pytest

from gennation.courses.service import get_course, load_courses
from gennation.courses.source import read_all
from gennation.platform.accounts import service as accounts
from gennation.platform.accounts.models import Role
from gennation.platform.institutions.models import Institution, InstitutionKind
from tests.conftest import FIXTURE_CONTENT, RELAXED
from tests.conftest import api_token
from tests.platform.agencies.test_agency import CIVIL


@pytest.fixture
def civil_course(session, tmp_path):
    """The fixture course as a course completed by its final exam (as the civil-service course is)."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT / "test-course", content / "civil-course")
    for glossary in FIXTURE_CONTENT.glob("glossary.*.yaml"):
        shutil.copy(glossary, content)
    course_yaml = content / "civil-course" / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace("id: test-course", "id: civil-course")
                           .replace("hours: 2", "hours: 2\ncompletion: final_exam"))
    courses, _glossary, errors = read_all(content, RELAXED)
    assert errors == []
    load_courses(session, courses)
    session.commit()
    return get_course(session, "civil-course")


@pytest.fixture
def agencies(session):
    ours = Institution(name="Цифрлық даму министрлігі", name_ru="Министерство цифрового развития",
                       kind=InstitutionKind.state_body, region="astana")
    theirs = Institution(name="Қаржы министрлігі", name_ru="Министерство финансов", kind=InstitutionKind.state_body,
                         region="astana")
    session.add_all([ours, theirs])
    session.commit()
    return ours.id, theirs.id


@pytest.fixture
def admin(client, session):
    headers = api_token(client, "admin")
    accounts.set_role(session, "admin", Role.admin)
    session.commit()
    return headers


@pytest.fixture
def coordinator(client, session, admin, agencies):
    headers = api_token(client, "hr-officer", **CIVIL)
    appointed = client.post(f"/api/v1/institutions/{agencies[0]}/coordinators", headers=admin,
                            json={"username": "hr-officer"})
    assert appointed.status_code == 201, appointed.text
    return headers
