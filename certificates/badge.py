"""A certificate as an Open Badges 3.0 `OpenBadgeCredential` (a W3C Verifiable Credential 2.0), and the
revocation list as a W3C Bitstring Status List credential; both signed with `signing.sign`.

Functions take any object with the certificate's frozen fields (`models.Certificate` or a stand-in), so
what a badge says is exactly what was printed. Texts are in the certificate's language: the Open Badges
schema types `name` and `description` as plain strings, so a badge carries one language, the holder's.
"""
from __future__ import annotations

import base64
import gzip
import uuid
from datetime import UTC, date, datetime, time
from typing import Iterable, Protocol

from gennation.certificates import signing
from gennation.platform.i18n import N_, content_language, gettext

STATUS_LIST_PATH = "/api/v1/certificates/status-list"
ISSUER_PATH = "/api/v1/issuer"
# The Bitstring Status List spec's minimum (16 KB): a short list would tell how many were issued.
MIN_STATUS_LIST_BITS = 131_072
# Any fixed namespace: an achievement id must be the same for every holder of the same tournament award.
ACHIEVEMENT_NAMESPACE = uuid.UUID("5b0c1a8e-2f44-4c5e-9a55-3d1f6c0b7e21")

AWARD_NAMES = {"winner": N_("Winner"), "prize_winner": N_("Prize-winner"), "participant": N_("Participant")}


class CertificateFields(Protocol):
    id: int
    public_id: str
    code: str
    holder_name: str
    kind: str
    course_slug: str | None
    title: dict
    stage: dict
    award: str
    place: int | None
    hours: int
    score: float | None
    issued_on: date
    language: str
    issuer: dict
    revoked_at: datetime | None


def _date_time(day: date) -> str:
    """A date as the date-time with time zone that VC 2.0 and the schema require (midnight UTC)."""
    return f"{day.isoformat()}T00:00:00Z"


def _text(values: dict, lang: str) -> str:
    return values.get(lang) or values.get("kk") or values.get("ru") or ""


def issuer_profile(issuer_names: dict, lang: str, base_url: str, signer: signing.Signer | None = None) -> dict:
    """The issuer `Profile`: its id is the did:key that signs, so the badge needs nothing fetched."""
    return {"id": (signer or signing.signer()).did, "type": ["Profile"], "name": _text(issuer_names, lang),
            "url": base_url.rstrip("/") + "/"}


def issuer_profile_document(issuer_names: dict, lang: str, base_url: str,
                            signer: signing.Signer | None = None) -> dict:
    """The issuer profile as published at a stable URL, naming the key that verifies its badges."""
    signer = signer or signing.signer()
    return {"@context": [signing.VC_V2, signing.OB_V3],
            **issuer_profile(issuer_names, content_language(lang), base_url, signer),
            "otherIdentifier": [{"type": "IdentifierEntry", "identifier": signer.verification_method,
                                 "identifierType": "identifier"}]}


def _achievement(certificate: CertificateFields, lang: str, base: str) -> dict:
    title = _text(certificate.title, lang)
    if certificate.kind == "tournament":
        stage = _text(certificate.stage, lang)
        award = gettext(lang, AWARD_NAMES.get(certificate.award, AWARD_NAMES["participant"]))
        place = getattr(certificate, "place", None)
        if place:
            award = f"{award}, {gettext(lang, N_('Place %(place)s'), place=place)}"
        # One achievement per award (and place) of a stage: the same id for everyone who shares it.
        key = f"{certificate.award}|{place or ''}|{certificate.title.get('ru', '')}|{certificate.stage.get('ru', '')}"
        return {
            "id": f"urn:uuid:{uuid.uuid5(ACHIEVEMENT_NAMESPACE, key)}",
            "type": ["Achievement"],
            "achievementType": "Award",
            "name": f"{title}: {award}" + (f" ({stage})" if stage else ""),
            "description": gettext(lang, N_("%(title)s, %(stage)s: %(award)s. Generative Nation platform."),
                                   award=award, title=title, stage=stage) if stage else
            gettext(lang, N_("%(title)s: %(award)s, Generative Nation platform."), award=award, title=title),
            "criteria": {"narrative": gettext(lang, N_(
                "Awarded by the results of the tournament stage named on the certificate."))},
            "inLanguage": lang,
        }
    return {
        "id": f"{base}/{lang}/courses/{certificate.course_slug}",
        "type": ["Achievement"],
        "achievementType": "CertificateOfCompletion",
        "name": title,
        "description": gettext(lang, N_("Course on the Generative Nation platform: %(title)s, %(hours)s h."),
                               title=title, hours=certificate.hours),
        "criteria": {"narrative": gettext(lang, N_(
            "Completed every module of the course and passed the assessment it requires on the Generative "
            "Nation platform."))},
        "inLanguage": lang,
    }


def status_list_url(base_url: str) -> str:
    return base_url.rstrip("/") + STATUS_LIST_PATH


def credential(certificate: CertificateFields, base_url: str, signer: signing.Signer | None = None) -> dict:
    """The unsigned OpenBadgeCredential for a certificate (`@context` in the order the schema requires)."""
    base = base_url.rstrip("/")
    lang = content_language(certificate.language)
    achievement = _achievement(certificate, lang, base)
    return {
        "@context": [signing.VC_V2, signing.OB_V3],
        "id": f"urn:uuid:{certificate.public_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": achievement["name"],
        "issuer": issuer_profile(certificate.issuer, lang, base_url, signer),
        "validFrom": _date_time(certificate.issued_on),
        "awardedDate": _date_time(certificate.issued_on),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            # The holder has no DID: the name printed on the certificate identifies them, in the clear.
            "identifier": [{"type": "IdentityObject", "identityType": "name", "hashed": False,
                            "identityHash": certificate.holder_name}],
            "achievement": achievement,
        },
        "credentialStatus": {
            "id": f"{status_list_url(base_url)}#{certificate.id}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(certificate.id),
            "statusListCredential": status_list_url(base_url),
        },
    }


def signed_badge(certificate: CertificateFields, base_url: str, signer: signing.Signer | None = None) -> dict:
    """The signed badge. The proof is dated at the issue date, so (Ed25519 being deterministic) every
    download of a certificate's badge is the same bytes."""
    signer = signer or signing.signer()
    issued = datetime.combine(certificate.issued_on, time(), tzinfo=UTC)
    return signer.sign(credential(certificate, base_url, signer), created=issued)


def encoded_list(revoked_ids: Iterable[int]) -> str:
    """GZIP then multibase base64url (no padding, `u` prefix); bit 0 is the first byte's highest bit."""
    revoked = sorted(set(revoked_ids))
    if revoked and revoked[0] < 0:
        raise ValueError("a status list index is never negative")
    bits = max(MIN_STATUS_LIST_BITS, ((revoked[-1] if revoked else 0) // 8 + 1) * 8)
    bitstring = bytearray(bits // 8)
    for index in revoked:
        bitstring[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same list always compresses to the same bytes.
    compressed = gzip.compress(bytes(bitstring), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def status_list_credential(revoked_ids: Iterable[int], base_url: str, signer: signing.Signer | None = None, *,
                           issued_at: datetime | None = None) -> dict:
    """The signed BitstringStatusListCredential: bit N set means certificate N is revoked.

    Its issuer is the badges' issuer (the verifier checks that they match).
    """
    signer = signer or signing.signer()
    url = status_list_url(base_url)
    document = {
        "@context": [signing.VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": signer.did,
        "validFrom": signing.utc_timestamp(issued_at),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                              "encodedList": encoded_list(revoked_ids)},
    }
    return signer.sign(document, created=issued_at)
