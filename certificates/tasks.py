"""Drawing certificate PDFs: on the `certificates` queue of Celery workers in production
(`celery -A gennation.platform.worker worker -Q certificates`), in-process in the embedded mode.

A task takes a certificate id, is sent only after the issuing unit of work has committed, and may run
twice: a PDF already drawn is kept. The PDF route draws a missing one on request, so a lost task or a
dead worker delays a PDF and never loses it.
"""
from __future__ import annotations

import logging

from celery import shared_task
from sqlmodel import Session

from gennation.certificates import pdf, service
from gennation.certificates.models import BatchStatus, Certificate, CertificateBatch, PdfStatus
from gennation.courses import service as courses
from gennation.platform.database import Database, after_commit, utcnow
from gennation.platform.errors import Unavailable
from gennation.platform.files import write_atomically
from gennation.platform.settings import Settings
from gennation.platform.worker import RETRY, TRANSIENT, settings_of, task_unit_of_work

log = logging.getLogger("gennation.certificates")
QUEUE = "certificates"
_celery = None  # the Celery app of this process (set by `install`)
_settings: Settings | None = None  # the settings `install` was given


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
    write_atomically(path, data)
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


@shared_task(bind=True, name="certificates.render_pdf", **RETRY)
def render_pdf(self, certificate_id: int) -> str:
    settings = settings_of(self)
    with task_unit_of_work(settings) as session:
        return draw(session, settings, certificate_id)


def sweep_now(settings: Settings) -> dict:
    """Every minute (beat): send again the batches that lost their worker and the PDFs never drawn."""
    with task_unit_of_work(settings) as session:
        batches, undrawn = service.lost_work(session)
    for batch_id in batches:
        send_batch(batch_id)
    for certificate_id in undrawn:
        send_render(certificate_id)
    return {"batches": len(batches), "pdfs": len(undrawn)}


@shared_task(bind=True, name="certificates.sweep")
def sweep(self) -> dict:
    return sweep_now(settings_of(self))


def send_render(certificate_id: int) -> None:
    """Queue (or, embedded, run) the drawing; a broker that is down only delays the PDF (see above)."""
    try:
        _celery.tasks["certificates.render_pdf"].apply_async(args=[certificate_id], queue=QUEUE)
    except Exception:  # noqa: BLE001 - the certificate is issued; its PDF is drawn on request instead
        log.warning("certificate %s: the PDF task could not be run", certificate_id, exc_info=True)


# ---------------------------------------------------------------- bulk issuing

def run_batch_in(database: Database, settings: Settings, batch_id: int, chunk: int | None = None) -> str:
    """The batch task's work: issue what is missing, `chunk` certificates per committed step (each step
    commits its certificates and the progress together), then draw their PDFs. 'done', 'failed', 'busy'
    (another worker is on it) or 'missing'. Killed at any moment, it leaves only whole steps behind, and a
    resumed run issues what is still missing, never a second certificate of the same source."""
    chunk = chunk or service.CHUNK
    with database.unit_of_work() as session:
        batch = session.get(CertificateBatch, batch_id)
        if batch is None:
            return "missing"
        if batch.status == BatchStatus.done:
            return "done"
        if service.batch_live(batch):
            return "busy"
        items = service.batch_items(session, batch)
        now = utcnow()
        batch.status, batch.error, batch.heartbeat_at = BatchStatus.running, "", now
        batch.started_at = batch.started_at or now
        batch.total = batch.done + batch.skipped + len(items)
        session.add(batch)
    try:
        for start in range(0, len(items), chunk):
            issued: list[int] = []
            with database.unit_of_work() as session:
                batch = session.get(CertificateBatch, batch_id)
                # Written first: on SQLite the driver opens the transaction at the first write, and a
                # certificate's savepoint opened before it would commit on release, outside this step.
                batch.heartbeat_at = utcnow()
                session.add(batch)
                session.flush()
                for item in items[start:start + chunk]:
                    certificate = service.issue_item(session, batch, item)
                    if certificate is None:
                        batch.skipped += 1
                    else:
                        batch.done += 1
                        issued.append(certificate.id)
                batch.heartbeat_at = utcnow()
                session.add(batch)
            for certificate_id in issued:  # kept when the after-commit task has drawn it already
                with database.unit_of_work() as session:
                    draw(session, settings, certificate_id)
        with database.unit_of_work() as session:
            batch = session.get(CertificateBatch, batch_id)
            batch.status, batch.finished_at, batch.heartbeat_at = BatchStatus.done, utcnow(), utcnow()
            if batch.kind == "stage":  # the diplomas hold the awards now; the list of people need not stay
                batch.params = {key: value for key, value in batch.params.items() if key != "awards"}
            session.add(batch)
        return "done"
    except TRANSIENT:  # the database or broker went away: the task is tried again, and resumes
        raise
    except Exception as error:  # noqa: BLE001 - recorded on the batch; resuming issues what is missing
        log.exception("certificate batch %s stopped", batch_id)
        with database.unit_of_work() as session:
            batch = session.get(CertificateBatch, batch_id)
            if batch is not None:
                batch.status, batch.error = BatchStatus.failed, f"{type(error).__name__}: {error}"[:500]
                session.add(batch)
        return "failed"


@shared_task(bind=True, name="certificates.run_batch", **RETRY)
def run_batch(self, batch_id: int) -> str:
    settings = settings_of(self)
    database = Database(settings.database_url, pool_size=1)
    try:
        return run_batch_in(database, settings, batch_id)
    finally:
        database.dispose()


def send_batch(batch_id: int) -> None:
    """Queue (or, embedded, run) a batch; a broker that is down leaves it pending, to be resumed."""
    try:
        _celery.tasks["certificates.run_batch"].apply_async(args=[batch_id], queue=QUEUE)
    except Exception:  # noqa: BLE001 - the batch stays pending and can be resumed from its page
        log.warning("certificate batch %s: the task could not be sent", batch_id, exc_info=True)


def _after_batch(session: Session, batch: CertificateBatch) -> None:
    if _celery is not None:
        after_commit(session, lambda: send_batch(batch.id))


def _before_account_deleted(session: Session, user) -> None:
    """The holder's certificates go with the account: keep their numbers only (see service.withdraw_all),
    and remove the PDF files, which print the name, once the deletion has committed."""
    public_ids = service.withdraw_all(session, user.id)
    var_dir = _settings.var_dir if _settings is not None else None
    if public_ids and var_dir is not None:
        after_commit(session, lambda: _remove_pdfs(var_dir, public_ids))


def _remove_pdfs(var_dir, public_ids: list[str]) -> None:
    for public_id in public_ids:
        (var_dir / "certificates" / f"{public_id}.pdf").unlink(missing_ok=True)


def _after_issue(session: Session, certificate: Certificate) -> None:
    if _celery is not None:
        after_commit(session, lambda: send_render(certificate.id))


def install(settings: Settings) -> None:
    """Wire certificates into the platform: issue on course completion, draw PDFs after commit, run
    batches, and withdraw a holder's certificates with their account."""
    global _celery, _settings
    from gennation.platform.accounts import service as accounts
    from gennation.platform.worker import make_celery
    _celery = make_celery(settings)
    _settings = settings
    if service.on_course_completed not in courses.completion_hooks:
        courses.completion_hooks.append(service.on_course_completed)
    if _after_issue not in service.issued_hooks:
        service.issued_hooks.append(_after_issue)
    if _after_batch not in service.batch_hooks:
        service.batch_hooks.append(_after_batch)
    if _before_account_deleted not in accounts.deletion_hooks:
        accounts.deletion_hooks.append(_before_account_deleted)
