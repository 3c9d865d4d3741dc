"""Revoking an unknown or already revoked certificate, without a reason or without the right; a malformed
id: each gets a clear answer and changes nothing."""
from sqlmodel import select

from gennation.certificates import service
from gennation.certificates.models import Certificate, CertificateEvent
from gennation.platform.accounts.models import Role
from tests.certificates.conftest import HOLDER, promote
from tests.conftest import api_token


def test_unknown_and_malformed_ids_are_unknown_never_an_error(client):
    for reference in ("00000000-0000-4000-8000-000000000000", "GN-2222-2222", "not-an-id", "x" * 500, "%00",
                      "' or 1=1 --", "𝕏"):
        response = client.get(f"/api/v1/certificates/{reference}/verify")
        assert response.status_code in (404, 422) and response.status_code < 500, reference
        if response.status_code == 404:
            assert response.json()["status"] == "unknown"
    for odd in ("/verify/Әлия Нұр", "/verify/a%3Fb", "/verify?code=a%26b%23c"):
        assert client.get(odd, headers={"accept-language": "ru"}).status_code == 404, odd
    page = client.get("/ru/verify/nope")
    assert page.status_code == 404 and "Сертификата с таким номером нет" in page.text
    search = client.get("/kk/verify", params={"code": "GN-ZZZZ-0000"})
    assert search.status_code == 404 and "Мұндай нөмірлі сертификат жоқ" in search.text and "GN-ZZZZ-0000" in search.text


def test_bad_revocations_change_nothing(client, session, holder, admin, certificate_id):
    url = f"/api/v1/certificates/{certificate_id}/revoke"
    assert client.post(url, headers=holder, json={"reason": "мен қаламаймын"}).status_code == 403
    missing = client.post(url, headers=admin, json={"reason": "   "}, params={"lang": "ru"})
    assert missing.status_code == 422 and "Укажите причину отзыва" in missing.text
    unknown = client.post("/api/v1/certificates/GN-2222-2222/revoke", headers=admin, json={"reason": "x"})
    assert unknown.status_code == 404
    assert client.post(url, headers=admin, json={"reason": "Қате берілген"}).status_code == 200
    again = client.post(url, headers=admin, json={"reason": "Екінші рет"}, params={"lang": "kk"})
    assert again.status_code == 409 and "бұрын кері қайтарылған" in again.text
    session.expire_all()
    row = session.exec(select(Certificate)).one()
    assert row.revoked_reason == "Қате берілген"
    assert [e.kind for e in session.exec(select(CertificateEvent))] == ["issued", "revoked"]


def test_an_organiser_may_revoke_and_a_teacher_may_not(client, session, certificate_id):
    organiser = api_token(client, "organiser-1")
    promote(session, "organiser-1", Role.organiser)
    teacher = api_token(client, "teacher-1")
    promote(session, "teacher-1", Role.teacher)
    url = f"/api/v1/certificates/{certificate_id}/revoke"
    assert client.post(url, headers=teacher, json={"reason": "—"}).status_code == 403
    assert client.post(url, headers=organiser, json={"reason": "Дубликат"}).status_code == 200


def test_a_name_correction_is_a_new_certificate_and_the_old_one_points_to_it(client, session, admin, certificate_id):
    from gennation.platform.accounts.models import User
    actor = session.exec(select(User).where(User.username == "registrar")).one()
    new = service.reissue(session, actor, certificate_id, "Әлия Нұрғалиқызы Сәрсенбайқызы", "Тегі қате жазылған")
    session.commit()
    old = client.get(f"/api/v1/certificates/{certificate_id}/verify").json()
    assert old["status"] == "revoked" and old["replaced_by"] == new.public_id
    assert old["certificate"]["holder_name"] == HOLDER
    fresh = client.get(f"/api/v1/certificates/{new.public_id}/verify").json()
    assert fresh["status"] == "valid" and fresh["certificate"]["holder_name"] == "Әлия Нұрғалиқызы Сәрсенбайқызы"
    assert fresh["certificate"]["title"] == old["certificate"]["title"]
    page = client.get(f"/kk/verify/{certificate_id}")
    assert f"/kk/verify/{new.public_id}" in page.text


def test_an_admin_revokes_on_the_verification_page_and_a_missing_reason_comes_back(client, session, certificate_id):
    from tests.conftest import csrf_of, register
    client.cookies.clear()
    assert "revoke-reason" not in client.get(f"/kk/verify/{certificate_id}").text  # not for visitors
    register(client, "page-admin", lang="ru")
    promote(session, "page-admin", Role.admin)
    page = client.get(f"/ru/verify/{certificate_id}")
    assert 'name="reason"' in page.text
    url = f"/ru/verify/{certificate_id}/revoke"
    empty = client.post(url, data={"csrf_token": csrf_of(page.text), "reason": "  "})
    assert empty.status_code == 422 and "Укажите причину отзыва" in empty.text
    done = client.post(url, data={"csrf_token": csrf_of(page.text), "reason": "Выдан по ошибке"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/ru/verify/{certificate_id}"
    shown = client.get(done.headers["location"]).text
    assert "Сертификат отозван" in shown and "Выдан по ошибке" in shown and 'name="reason"' not in shown
    again = client.post(url, data={"csrf_token": csrf_of(page.text), "reason": "ещё раз"})
    assert again.status_code == 409 and "Этот сертификат уже отозван" in again.text
    assert client.post(url, data={"reason": "без токена"}).status_code == 403
