"""Open Badges 3.0: what we sign is checked by code nobody here wrote (Digital Bazaar's reference verifier,
run by Node, offline) and by the official 1EdTech AchievementCredential JSON Schema."""
from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import pytest
from jsonschema import Draft201909Validator

from gennation.certificates import badge, signing

HERE = Path(__file__).parent
VERIFIER = HERE / "verify_badge.mjs"
SCHEMA = json.loads((HERE / "ob_v3p0_achievementcredential_schema.json").read_text(encoding="utf-8"))
BASE_URL = "https://gennation.example.kz"
ISSUER = {"kk": "«Генеративті Ұлт» ұлттық платформасы", "ru": "Национальная платформа «Генеративная нация»"}


@dataclass
class IssuedCertificate:
    """The fields `models.Certificate` freezes at issue time (the badge code takes any such object)."""

    id: int = 42
    public_id: str = "7d3f8a52-1c2b-4e5f-9a8b-0c1d2e3f4a5b"
    code: str = "GN-7KQ4-M2XP"
    holder_name: str = "Әйгерім Нұрсұлтанқызы Қалиқызы-Жаңабергенова"
    kind: str = "course"
    course_slug: str | None = "ai-basics"
    title: dict = field(default_factory=lambda: {"kk": "Жасанды интеллект негіздері",
                                                 "ru": "Основы искусственного интеллекта"})
    stage: dict = field(default_factory=dict)
    award: str = ""
    hours: int = 12
    score: float | None = None
    issued_on: date = date(2026, 11, 30)
    language: str = "kk"
    issuer: dict = field(default_factory=lambda: dict(ISSUER))
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    replaced_by: int | None = None


TOURNAMENT_DIPLOMA = IssuedCertificate(
    id=7, public_id="0f6e2a8c-93d4-4b1e-8c57-2a9d4e6f1b30", kind="tournament", course_slug=None,
    title={"kk": "Жасанды интеллект бойынша ұлттық турнир", "ru": "Национальный турнир по искусственному интеллекту"},
    stage={"kk": "Облыстық кезең", "ru": "Областной этап"}, award="prize_winner", hours=0, score=87.5,
    language="ru")


@pytest.fixture
def signer(tmp_path) -> signing.Signer:
    return signing.signer(tmp_path)


def reference_verify(tmp_path: Path, credential, status_list: dict | None):
    """Run Digital Bazaar's verifier (tests/certificates/verify_badge.mjs) on one badge or a list of them."""
    node = shutil.which("node")
    assert node, "Node.js is needed for the reference verifier (see README: make setup installs the packages)"
    assert (signing.NODE_MODULES / "@digitalbazaar" / "vc").is_dir(), "run `make setup` (npm ci in frontend/)"
    badge_file = tmp_path / "badge.json"
    badge_file.write_text(json.dumps(credential, ensure_ascii=False), encoding="utf-8")
    arguments = [node, str(VERIFIER), str(badge_file)]
    if status_list is not None:
        status_file = tmp_path / "status-list.json"
        status_file.write_text(json.dumps(status_list), encoding="utf-8")
        arguments.append(str(status_file))
    done = subprocess.run(arguments, capture_output=True, text=True, timeout=300)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_an_issued_badge_passes_the_reference_verifier_offline(tmp_path, signer):
    signed = badge.signed_badge(IssuedCertificate(), BASE_URL, signer)
    status_list = badge.status_list_credential([], BASE_URL, signer)

    code, result = reference_verify(tmp_path, signed, status_list)

    assert (code, result["verified"], result["revoked"], result["errors"]) == (0, True, False, [])
    # Everything it needed came from the packages, the did:key itself, or the status list given to it.
    assert set(result["loaded"]) == {signing.VC_V2, signing.OB_V3, signer.did, signer.verification_method,
                                     badge.status_list_url(BASE_URL)}


def test_a_tournament_diploma_in_russian_passes_the_reference_verifier(tmp_path, signer):
    signed = badge.signed_badge(TOURNAMENT_DIPLOMA, BASE_URL, signer)

    code, result = reference_verify(tmp_path, signed, badge.status_list_credential([], BASE_URL, signer))

    assert (code, result["errors"]) == (0, [])
    achievement = signed["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "Award" and achievement["inLanguage"] == "ru"
    assert "Областной этап" in achievement["name"]


def test_changing_any_byte_of_a_badge_fails_the_reference_verifier(tmp_path, signer):
    signed = badge.signed_badge(IssuedCertificate(), BASE_URL, signer)
    raw = json.dumps(signed, ensure_ascii=False, separators=(",", ":")).encode()
    tampered = []
    for position in range(len(raw)):
        changed = bytearray(raw)
        changed[position] = ord("0") if raw[position] != ord("0") else ord("1")
        try:
            tampered.append(json.loads(bytes(changed).decode()))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue  # not a JSON document any more: no verifier can be fooled by it
    assert len(tampered) > len(raw) // 2  # most single-byte changes still give JSON

    _, results = reference_verify(tmp_path, [signed, *tampered], badge.status_list_credential([], BASE_URL, signer))

    assert results[0]["verified"] is True
    still_verified = [json.dumps(document, ensure_ascii=False)[:200]
                      for document, result in zip(tampered, results[1:]) if result["verified"]]
    assert still_verified == []


def test_a_changed_name_date_or_proof_fails_and_the_reason_is_the_signature(tmp_path, signer):
    signed = badge.signed_badge(IssuedCertificate(), BASE_URL, signer)
    renamed = json.loads(json.dumps(signed))
    renamed["credentialSubject"]["identifier"][0]["identityHash"] = "Айгерім Нұрсұлтанқызы"
    redated = json.loads(json.dumps(signed))
    redated["validFrom"] = "2025-11-30T00:00:00Z"
    reproved = json.loads(json.dumps(signed))
    reproved["proof"][0]["created"] = "2020-01-01T00:00:00Z"

    _, results = reference_verify(tmp_path, [renamed, redated, reproved],
                                  badge.status_list_credential([], BASE_URL, signer))

    assert [result["verified"] for result in results] == [False, False, False]
    assert all("Invalid signature." in result["errors"] for result in results)


def test_after_revocation_the_reference_verifier_reports_the_badge_revoked(tmp_path, signer):
    certificate = IssuedCertificate()
    signed = badge.signed_badge(certificate, BASE_URL, signer)
    before = badge.status_list_credential([3], BASE_URL, signer)
    after = badge.status_list_credential([3, certificate.id], BASE_URL, signer)

    assert reference_verify(tmp_path, signed, before)[1]["revoked"] is False
    code, result = reference_verify(tmp_path, signed, after)

    assert (code, result["verified"], result["revoked"]) == (2, True, True)


def test_a_status_list_signed_by_another_key_is_not_believed(tmp_path, signer):
    signed = badge.signed_badge(IssuedCertificate(), BASE_URL, signer)
    forged = badge.status_list_credential([], BASE_URL, signing.signer(tmp_path / "other"))

    code, result = reference_verify(tmp_path, signed, forged)

    assert (code, result["verified"]) == (1, False)
    assert any("do not match" in error for error in result["errors"])


def test_the_status_list_is_gzip_base64url_of_at_least_131072_bits_with_bit_n_for_certificate_n(signer):
    status = badge.status_list_credential([0, 42, 200_000], BASE_URL, signer)
    subject = status["credentialSubject"]
    encoded = subject["encodedList"]
    assert encoded.startswith("u") and "=" not in encoded

    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))

    assert len(bits) * 8 >= 200_001 and len(gzip.decompress(base64.urlsafe_b64decode(
        badge.encoded_list([])[1:] + "=="))) * 8 == 131_072
    set_bits = [i for i in range(len(bits) * 8) if bits[i // 8] & (0x80 >> (i % 8))]
    assert set_bits == [0, 42, 200_000]
    assert status["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert subject["statusPurpose"] == "revocation" and status["issuer"] == signer.did


@pytest.mark.parametrize("certificate", [IssuedCertificate(), TOURNAMENT_DIPLOMA,
                                         replace(IssuedCertificate(), language="en")], ids=["course", "diploma", "en"])
def test_what_we_issue_satisfies_the_official_achievement_credential_schema(certificate, signer):
    validator = Draft201909Validator(SCHEMA, format_checker=Draft201909Validator.FORMAT_CHECKER)
    signed = badge.signed_badge(certificate, BASE_URL, signer)

    assert [error.message for error in validator.iter_errors(signed)] == []
    assert signed["@context"][:2] == ["https://www.w3.org/ns/credentials/v2",
                                      "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]


def test_the_schema_check_is_strict_enough_to_catch_a_bad_date_or_context_order(signer):
    validator = Draft201909Validator(SCHEMA, format_checker=Draft201909Validator.FORMAT_CHECKER)
    signed = badge.signed_badge(IssuedCertificate(), BASE_URL, signer)

    assert list(validator.iter_errors({**signed, "validFrom": "2026-11-30"}))
    assert list(validator.iter_errors({**signed, "@context": signed["@context"][::-1]}))


def test_the_badge_carries_the_printed_fields_in_the_holders_language(signer):
    signed = badge.signed_badge(IssuedCertificate(), BASE_URL, signer)

    achievement = signed["credentialSubject"]["achievement"]
    assert signed["issuer"] == {"id": signer.did, "type": ["Profile"], "name": ISSUER["kk"], "url": BASE_URL + "/"}
    assert signed["credentialSubject"]["identifier"][0]["identityHash"] == IssuedCertificate().holder_name
    assert achievement["name"] == "Жасанды интеллект негіздері" and "12" in achievement["description"]
    assert signed["validFrom"] == "2026-11-30T00:00:00Z"
    assert signed["credentialStatus"] == {
        "id": f"{BASE_URL}/api/v1/certificates/status-list#42", "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation", "statusListIndex": "42",
        "statusListCredential": f"{BASE_URL}/api/v1/certificates/status-list"}


def test_the_did_key_is_the_multibase_of_the_ed25519_public_key(signer):
    import base58

    decoded = base58.b58decode(signer.did.removeprefix("did:key:z"))

    assert signer.did.startswith("did:key:z6Mk") and decoded[:2] == b"\xed\x01" and len(decoded) == 34
    assert signer.verification_method == f"{signer.did}#{signer.public_key_multibase}"


def test_the_key_is_generated_once_and_kept_private(tmp_path):
    first = signing.signer(tmp_path / "keys")
    signing._signer_at.cache_clear()

    assert signing.signer(tmp_path / "keys").did == first.did
    assert (tmp_path / "keys" / "badge_signing_key").stat().st_mode & 0o777 == 0o600


def test_our_own_check_agrees_with_the_reference_one(signer):
    signed = badge.signed_badge(IssuedCertificate(), BASE_URL, signer)

    assert signer.verify(signed)
    assert not signer.verify({**signed, "name": "Another course"})


def test_contexts_never_come_from_the_network():
    with pytest.raises(signing.OfflineContextError):
        signing.document_loader("https://example.org/context.jsonld")
    for url in signing.CONTEXT_FILES:
        assert "@context" in signing.document_loader(url)["document"]
