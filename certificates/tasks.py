"""Drawing certificate PDFs: on the `certificates` queue of Celery workers in production
(`celery -A gennation.platform.worker worker -Q certificates`), in-process in the embedded mode.

A task takes a certificate id, is sent only after the issuing unit of work has committed, and may run
twice: a PDF already drawn is kept. The PDF route draws a missing one on request, so a lost task or a
dead worker delays a PDF and never loses it.
"""
from __future__ import annotations

import logging
import os
import tempfile

from celery import shared_task
from sqlmodel import Session

from gennation.certificates import pdf, service
from gennation.certificates.models import Certificate, PdfStatus
from gennation.courses import service as courses
from gennation.platform.database import Database, after_commit
from gennation.platform.errors import Unavailable
from gennation.platform.settings import Settings
from gennation.platform.worker import settings_of

log = logging.getLogger("gennation.certificates")
QUEUE = "certificates"
_celery = None  # the Celery app of this process (set by `install`)


def stored_pdf(session: Session, settings: Settings, certificate: Certificate) -> bytes:
    """The certificate's PDF: the kept file, or drawn now from the frozen fields and kept."""
    path = pdf.store_path(settings.var_dir, certificate)
    if certificate.pdf_status == PdfStatus.ready and path.is_file():
        return path.read_bytes()
    try:
        data = pdf.render(certificate, settings.public_url)
    except pdf.FontMissing as error:
        log.error("certificate PDFs cannot be drawn: %s", error)
        raise Unavailable from None
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under another name and moved: a reader never sees half a file, two writers the same bytes.
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as part:
        part.write(data)
    os.replace(part.name, path)
    if certificate.pdf_status != PdfStatus.ready:
        service.mark_pdf(session, certificate, PdfStatus.ready)
    return data


def draw(session: Session, settings: Settings, certificate_id: int) -> str:
    """The task's work: 'kept' when the PDF was there already, 'drawn', or 'missing' (no such row)."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        return "missing"
    if certificate.pdf_status == PdfStatus.ready and pdf.store_path(settings.var_dir, certificate).is_file():
        return "kept"
    stored_pdf(session, settings, certificate)
    return "drawn"


@shared_task(bind=True, name="certificates.render_pdf")
def render_pdf(self, certificate_id: int) -> str:
    settings = settings_of(self)
    database = Database(settings.database_url, pool_size=1)
    try:
        with database.unit_of_work() as session:
            return draw(session, settings, certificate_id)
    finally:
        database.dispose()


def send_render(certificate_id: int) -> None:
    """Queue (or, embedded, run) the drawing; a broker that is down only delays the PDF (see above)."""
    try:
        _celery.tasks["certificates.render_pdf"].apply_async(args=[certificate_id], queue=QUEUE)
    except Exception:  # noqa: BLE001 - the certificate is issued; its PDF is drawn on request instead
        log.warning("certificate %s: the PDF task could not be run", certificate_id, exc_info=True)


def _after_issue(session: Session, certificate: Certificate) -> None:
    if _celery is not None:
        after_commit(session, lambda: send_render(certificate.id))


def install(settings: Settings) -> None:
    """Wire certificates into the platform: issue on course completion, draw PDFs after commit."""
    global _celery
    from gennation.platform.worker import make_celery
    _celery = make_celery(settings)
    if service.on_course_completed not in courses.completion_hooks:
        courses.completion_hooks.append(service.on_course_completed)
    if _after_issue not in service.issued_hooks:
        service.issued_hooks.append(_after_issue)
