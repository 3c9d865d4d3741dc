"""A holder deletes their account: the certificates go with it (rows, audit log, PDF files), and what is
left is only each certificate's number, public id and code, so that a verifier is told "withdrawn: the
holder deleted the account" (not "unknown", which reads as a forgery), an offline copy of the badge fails
on the status list, and nothing about the person remains."""
from __future__ import annotations

import base64
import gzip

from sqlmodel import select

from gennation.certificates.models import Certificate, CertificateEvent, WithdrawnCertificate
from gennation.certificates.pdf import store_path
from tests.certificates.conftest import HOLDER
from tests.conftest import REGISTRATION, sign_in


def _bit(status_list: dict, index: int) -> bool:
    encoded = status_list["credentialSubject"]["encodedList"][1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def test_the_deletion_page_says_what_happens_to_the_certificates(client, holder):
    sign_in(client, "certified", "kk")
    assert "Сертификаттарыңыз да бірге өшіріледі" in client.get("/kk/account").text
    sign_in(client, "certified", "ru")
    assert "Ваши сертификаты будут удалены вместе с ней" in client.get("/ru/account").text


def test_deleting_the_account_withdraws_its_certificates_and_keeps_nothing_about_the_person(
        client, session, settings, holder, certificate_id):
    certificate = session.exec(select(Certificate)).one()
    number, code, pdf = certificate.id, certificate.code, store_path(settings.var_dir, certificate)
    assert pdf.is_file()
    assert not _bit(client.get("/api/v1/certificates/status-list").json(), number)

    deleted = client.request("DELETE", "/api/v1/me", headers=holder, json={"password": REGISTRATION["password"]})
    assert deleted.status_code == 204, deleted.text
    session.expire_all()
    assert session.exec(select(Certificate)).all() == [] and session.exec(select(CertificateEvent)).all() == []
    assert not pdf.exists()  # the file printed the name
    kept = session.exec(select(WithdrawnCertificate)).one()
    assert (kept.id, kept.public_id, kept.code) == (number, certificate_id, code)
    assert set(WithdrawnCertificate.model_fields) == {"id", "public_id", "code", "withdrawn_at"}

    answer = client.get(f"/api/v1/certificates/{certificate_id}/verify?lang=ru")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "revoked" and body["withdrawn"] is True and body.get("certificate") is None
    assert "удалил свою учётную запись" in body["revoked_reason"]
    assert HOLDER not in answer.text

    page = client.get(f"/kk/verify/{certificate_id}")
    assert page.status_code == 200 and "Бұл сертификат қайтарып алынды" in page.text and HOLDER not in page.text
    by_code = client.get(f"/kk/verify?code={code.lower()}", follow_redirects=False)
    assert by_code.status_code == 303 and by_code.headers["location"] == f"/kk/verify/{certificate_id}"
    badge = client.get(f"/api/v1/certificates/{certificate_id}/badge")
    assert badge.status_code == 410 and badge.json()["withdrawn"] is True
    assert _bit(client.get("/api/v1/certificates/status-list").json(), number)  # an offline copy fails now
