"""One completion gives exactly one certificate, however often the event arrives; the PDF task may run
twice and keeps what it drew."""
import pytest
from sqlmodel import select

from gennation.certificates import service, tasks
from gennation.certificates.models import Certificate, CertificateEvent, PdfStatus
from gennation.certificates.pdf import store_path
from gennation.courses.models import CourseCompletion
from gennation.platform.worker import make_celery


def test_the_completion_event_arriving_twice_gives_one_certificate(client, session, holder):
    completion = session.exec(select(CourseCompletion)).one()
    service.on_course_completed(session, completion)
    again = service.issue_for_completion(session, completion)
    session.commit()
    rows = session.exec(select(Certificate)).all()
    assert len(rows) == 1 and again.id == rows[0].id
    assert rows[0].source == f"course-completion:{completion.id}"
    assert len(session.exec(select(CertificateEvent).where(CertificateEvent.kind == "issued")).all()) == 1


def test_a_concurrent_issue_of_the_same_source_loses_on_the_unique_constraint(client, session, holder, monkeypatch):
    first = session.exec(select(Certificate)).one()
    duplicate = Certificate(**first.model_dump(exclude={"id", "public_id", "code"}), public_id="", code="")
    original, lookups = service.by_source, []

    def not_seen_yet(session, source):  # the other worker's row is not visible when this one looks first
        lookups.append(source)
        return None if len(lookups) == 1 else original(session, source)

    monkeypatch.setattr(service, "by_source", not_seen_yet)
    kept = service.issue(session, duplicate)
    session.commit()
    assert kept.id == first.id and len(lookups) == 2
    assert len(session.exec(select(Certificate)).all()) == 1
    assert len(session.exec(select(CertificateEvent)).all()) == 1


def test_the_pdf_task_run_twice_draws_once_and_keeps_the_file(client, session, holder, settings):
    certificate = session.exec(select(Certificate)).one()
    assert certificate.pdf_status == PdfStatus.ready  # drawn in-process after the completion's commit
    path = store_path(settings.var_dir, certificate)
    drawn = path.read_bytes()
    task = make_celery(settings).tasks["certificates.render_pdf"]
    assert task.apply(args=[certificate.id]).get() == "kept"
    path.unlink()
    assert task.apply(args=[certificate.id]).get() == "drawn"
    assert task.apply(args=[certificate.id]).get() == "kept"
    assert path.read_bytes() == drawn  # reproducible: the same frozen fields, the same bytes
    assert task.apply(args=[999999]).get() == "missing"
    assert tasks.QUEUE == "certificates"
    assert make_celery(settings).amqp.router.route({}, "certificates.render_pdf")["queue"].name == "certificates"


@pytest.mark.services
def test_a_real_worker_draws_the_pdf_from_the_certificates_queue(client, session, holder, settings):
    from celery.contrib.testing.worker import start_worker
    from tests.conftest import redis_or_skip

    certificate = session.exec(select(Certificate)).one()
    path = store_path(settings.var_dir, certificate)
    path.unlink()
    certificate.pdf_status = PdfStatus.pending
    session.add(certificate)
    session.commit()
    settings.redis_url = redis_or_skip()
    app = make_celery(settings)
    assert not app.conf.task_always_eager
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=["certificates"]):
        result = app.tasks["certificates.render_pdf"].apply_async(args=[certificate.id], queue="certificates")
        assert result.get(timeout=60) == "drawn"
    session.expire_all()
    assert session.get(Certificate, certificate.id).pdf_status == PdfStatus.ready and path.read_bytes().startswith(b"%PDF")
