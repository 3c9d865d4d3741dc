"""Which certificates the published Bitstring Status List marks revoked (bit N is certificate N)."""
from __future__ import annotations

from sqlmodel import Session, select

from gennation.certificates.models import Certificate


def revoked_ids(session: Session) -> list[int]:
    return list(session.exec(select(Certificate.id).where(Certificate.revoked_at.is_not(None))
                             .order_by(Certificate.id)))
