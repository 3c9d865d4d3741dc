"""The badge, the status list and the issuer profile as the platform serves them, checked by the
reference verifier: issue -> verified; revoke -> the served status list makes the verifier say revoked."""
from __future__ import annotations

from datetime import date

from sqlmodel import select

from gennation.certificates import service
from gennation.certificates.models import Certificate
from gennation.platform.accounts.models import Role, User

from .test_badge import BASE_URL, SCHEMA, reference_verify  # noqa: F401  (shared helpers)


def _issue(session, username: str = "aliya") -> Certificate:
    user = session.exec(select(User).where(User.username == username)).one()
    certificate = service.issue(session, Certificate(
        source=f"test-badge:{user.id}", user_id=user.id, holder_name="Әйгерім Нұрсұлтанқызы", kind="course",
        course_slug="ai-basics", title={"kk": "Жасанды интеллект негіздері", "ru": "Основы ИИ"}, hours=12,
        issued_on=date(2026, 11, 30), language="kk", issuer=dict(service.ISSUER), public_id="", code=""))
    session.commit()
    return certificate


def test_a_served_badge_verifies_and_after_revocation_the_served_list_says_revoked(learner, session, tmp_path):
    certificate = _issue(session)
    response = learner.get(f"/api/v1/certificates/{certificate.public_id}/badge")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/vc+ld+json")
    served = response.json()
    status_list = learner.get("/api/v1/certificates/status-list").json()
    assert served["credentialStatus"]["statusListCredential"] == status_list["id"]
    assert served["credentialStatus"]["statusListIndex"] == str(certificate.id)

    code, result = reference_verify(tmp_path, served, status_list)
    assert (code, result["verified"], result["revoked"]) == (0, True, False), result

    admin = session.exec(select(User).where(User.username == "aliya")).one()
    admin.role = Role.admin
    service.revoke(session, admin, certificate.public_id, "Issued by mistake")
    session.commit()

    revoked_list = learner.get("/api/v1/certificates/status-list").json()
    code, result = reference_verify(tmp_path, served, revoked_list)
    assert (code, result["verified"], result["revoked"]) == (2, True, True), result
    # The badge itself stays as issued: the same bytes, by its code as by its public id.
    again = learner.get(f"/api/v1/certificates/{certificate.code}/badge")
    assert again.content == response.content


def test_an_unknown_or_malformed_badge_reference_answers_404_unknown(client):
    for reference in ("00000000-0000-4000-8000-000000000000", "GN-2222-2222", "not a reference", "x" * 500):
        response = client.get(f"/api/v1/certificates/{reference}/badge")
        assert (response.status_code, response.json()["status"]) == (404, "unknown")


def test_the_issuer_profile_is_published_with_the_did_that_signs_the_badges(learner, session):
    certificate = _issue(session)
    served = learner.get(f"/api/v1/certificates/{certificate.public_id}/badge").json()

    profile = learner.get("/api/v1/issuer", headers={"Accept-Language": "ru"}).json()

    assert profile["id"] == served["issuer"]["id"] and profile["id"].startswith("did:key:z6Mk")
    assert profile["type"] == ["Profile"] and profile["name"] == service.ISSUER["ru"]
    assert profile["otherIdentifier"][0]["identifier"] == served["proof"][0]["verificationMethod"]
