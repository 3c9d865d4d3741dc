"""Which certificates the published Bitstring Status List marks revoked (bit N is certificate N)."""
from __future__ import annotations

from sqlmodel import Session, select

from gennation.certificates.models import Certificate, WithdrawnCertificate


def revoked_ids(session: Session) -> list[int]:
    """Revoked certificates, and those withdrawn with their holder's account (a kept copy of such a badge
    must not verify as valid once the platform can no longer say what it was)."""
    revoked = session.exec(select(Certificate.id).where(Certificate.revoked_at.is_not(None))).all()
    withdrawn = session.exec(select(WithdrawnCertificate.id)).all()
    return sorted({*revoked, *withdrawn})
