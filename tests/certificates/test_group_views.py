"""A teacher sees the certificates of their class earned since each learner joined, and downloads the
PDFs as one ZIP (an agency's coordinator: tests/platform/agencies/test_agency_certificates.py)."""
import io
import zipfile

from sqlmodel import select

from gennation.certificates.models import Certificate
from tests.conftest import api_token, sign_in
from tests.courses.answering import complete_test_course
from tests.platform.institutions.test_assignments import account


def test_a_teacher_sees_the_certificates_earned_since_joining_and_downloads_them(client, session, loaded):
    teacher = account(client, "mugalim", teacher=True, session=session)
    before = api_token(client, "erte", display_name="Ерте Бітірген", language="kk")
    complete_test_course(client, loaded, before)  # certified before joining: not the class's to see
    room = client.post("/api/v1/classes", headers=teacher, json={"name": "9 «Б»"}).json()
    client.post("/api/v1/classes/join", headers=before, json={"code": room["join_code"]})
    pupil = api_token(client, "okushy", display_name="Әйгерім Сәтбаева", language="kk")
    client.post("/api/v1/classes/join", headers=pupil, json={"code": room["join_code"]})
    complete_test_course(client, loaded, pupil)

    sign_in(client, "mugalim", "kk")
    page = client.get(f"/kk/classes/{room['id']}/certificates")
    assert page.status_code == 200 and "Әйгерім Сәтбаева" in page.text and "Ерте Бітірген" not in page.text
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/kk/classes/{room['id']}/certificates.zip").content))
    code = session.exec(select(Certificate).where(Certificate.holder_name == "Әйгерім Сәтбаева")).one().code
    assert archive.namelist() == [f"{code}.pdf"] and archive.read(f"{code}.pdf").startswith(b"%PDF")
