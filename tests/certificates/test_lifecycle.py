"""Completion → certificate → public verification → revocation → verification shows it revoked
(SQLite and PostgreSQL), with the printed fields frozen at issue time."""
from sqlmodel import select

from gennation.certificates.models import Certificate, CertificateEvent
from tests.certificates.conftest import HOLDER


def test_a_completed_course_gives_a_certificate_anyone_can_verify_until_it_is_revoked(client, session, holder, admin,
                                                                                      certificate_id, app):
    mine = client.get("/api/v1/me/certificates", headers=holder, params={"lang": "ru"}).json()[0]
    assert mine["status"] == "valid" and mine["course"] == "test-course" and mine["title"]
    assert mine["links"]["badge"] == f"/api/v1/certificates/{certificate_id}/badge"

    client.cookies.clear()  # verification needs no account
    verified = client.get(f"/api/v1/certificates/{certificate_id}/verify").json()
    printed = verified["certificate"]
    assert verified["status"] == "valid" and printed["holder_name"] == HOLDER
    assert set(printed["title"]) == {"kk", "ru"} and printed["hours"] == session.exec(
        select(Certificate)).one().hours
    assert verified["verify_url"] == f"{app.state.settings.public_url}/verify/{certificate_id}"
    assert "username" not in str(verified) and "certified" not in str(verified)  # nothing else about the person

    page = client.get(f"/kk/verify/{certificate_id}")
    assert page.status_code == 200 and HOLDER in page.text and "Сертификат жарамды" in page.text
    assert client.get(f"/verify/{certificate_id}", follow_redirects=False,
                      headers={"accept-language": "ru"}).headers["location"] == f"/ru/verify/{certificate_id}"
    code = printed["code"]
    found = client.get("/ru/verify", params={"code": code.lower().replace("-", " ")}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/ru/verify/{certificate_id}"

    revoked = client.post(f"/api/v1/certificates/{certificate_id}/revoke", headers=admin,
                          json={"reason": "Емтихан тапсыруда алаяқтық анықталды"})
    assert revoked.status_code == 200, revoked.text
    after = client.get(f"/api/v1/certificates/{code}/verify").json()
    assert after["status"] == "revoked" and after["revoked_reason"] == "Емтихан тапсыруда алаяқтық анықталды"
    assert after["revoked_at"] and after["certificate"]["holder_name"] == HOLDER
    page = client.get(f"/ru/verify/{certificate_id}")
    assert "Сертификат отозван" in page.text and "алаяқтық" in page.text

    session.expire_all()
    events = session.exec(select(CertificateEvent).order_by(CertificateEvent.id)).all()
    assert [e.kind for e in events] == ["issued", "revoked"]
    assert events[1].actor_id is not None and events[1].reason == "Емтихан тапсыруда алаяқтық анықталды"


def test_a_profile_name_change_leaves_the_issued_certificate_as_issued(client, session, holder, certificate_id):
    before = client.get(f"/api/v1/certificates/{certificate_id}/pdf", headers=holder).content
    changed = client.put("/api/v1/me", headers=holder, json={"display_name": "Совсем Другое Имя", "region": "shymkent",
                                                                "category": "school_student", "school_grade": 9})
    assert changed.status_code == 200 and changed.json()["display_name"] == "Совсем Другое Имя"
    verified = client.get(f"/api/v1/certificates/{certificate_id}/verify").json()
    assert verified["certificate"]["holder_name"] == HOLDER
    session.expire_all()
    row = session.exec(select(Certificate)).one()
    row.pdf_status = "pending"  # drawn again from the frozen fields: the very same bytes
    session.add(row)
    session.commit()
    assert client.get(f"/api/v1/certificates/{certificate_id}/pdf", headers=holder).content == before


def test_the_learners_page_lists_the_pdf_the_badge_and_what_to_share(client, holder, certificate_id, app):
    page = client.get("/kk/certificates", headers=holder)
    assert page.status_code == 200
    assert f"/kk/certificates/{certificate_id}.pdf" in page.text
    assert f"/api/v1/certificates/{certificate_id}/badge" in page.text
    assert f"{app.state.settings.public_url}/verify/{certificate_id}" in page.text
    pdf = client.get(f"/kk/certificates/{certificate_id}.pdf", headers=holder)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
