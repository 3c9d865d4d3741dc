"""A course completed by its final exam (the civil-service course) gives its certificate when the exam is passed."""
from tests.conftest import api_token
from tests.platform.agencies.conftest import civil_course  # noqa: F401 - the fixture
from tests.platform.agencies.test_agency import CIVIL, pass_final


def test_passing_the_final_exam_of_an_exam_completed_course_issues_the_certificate(client, civil_course):  # noqa: F811
    headers = api_token(client, "official", **CIVIL, display_name="Бауыржан Өтепұлы")
    assert client.get("/api/v1/me/certificates", headers=headers).json() == []
    pass_final(client, headers, civil_course)
    mine = client.get("/api/v1/me/certificates", headers=headers).json()
    assert [m["course"] for m in mine] == ["civil-course"]
    verified = client.get(f"/api/v1/certificates/{mine[0]['id']}/verify").json()
    assert verified["status"] == "valid" and verified["certificate"]["hours"] == 2
    assert verified["certificate"]["holder_name"] == "Бауыржан Өтепұлы"
