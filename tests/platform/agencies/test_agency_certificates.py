"""An agency's coordinator sees the certificates of the mandatory course held by its staff, and
downloads their PDFs as one ZIP."""
import io
import zipfile
from datetime import date, timedelta

from tests.conftest import api_token, sign_in
from tests.courses.answering import complete_test_course


def test_an_agency_coordinator_sees_the_mandatory_courses_certificates(client, session, loaded, agencies,
                                                                        coordinator):
    ours, _ = agencies
    mandate = client.post(f"/api/v1/agencies/{ours}/mandates", headers=coordinator,
                          json={"course": "test-course", "deadline": (date.today() + timedelta(days=5)).isoformat()})
    employee = api_token(client, "qyzmetker", display_name="Бақытжан Оспанов", role="civil_servant",
                         category="civil_servant", school_grade="")
    client.post(f"/api/v1/agencies/{ours}/staff?dry_run=false", headers=coordinator,
                files={"file": ("staff.csv", "ФИО;Подразделение;Логин\nБ. О.;Бюджет;qyzmetker\n".encode(), "text/csv")})
    invitation = client.get("/api/v1/me/agency-invitations", headers=employee).json()[0]
    client.post(f"/api/v1/me/agency-invitations/{invitation['id']}", headers=employee, json={"accept": True})
    complete_test_course(client, loaded, employee)
    sign_in(client, "hr-officer", "ru")
    page = client.get(f"/ru/agencies/{ours}/mandates/{mandate.json()['id']}/certificates")
    assert page.status_code == 200 and "Бақытжан Оспанов" in page.text
    archive = zipfile.ZipFile(io.BytesIO(client.get(
        f"/ru/agencies/{ours}/mandates/{mandate.json()['id']}/certificates.zip").content))
    assert len(archive.namelist()) == 1
