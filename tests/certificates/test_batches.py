"""Issuing in bulk: an agency's staff who passed the mandatory course before certificates existed, a class,
a tournament stage. A batch stopped halfway (an error, or a worker killed with nothing handled) and resumed
issues only what is missing: exactly one certificate per person. Progress page, htmx fragment, ZIP."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from sqlmodel import select

from gennation.certificates import service, tasks
from gennation.certificates.models import BatchKind, BatchStatus, Certificate, CertificateBatch
from gennation.courses.models import Course, CourseCompletion
from gennation.platform.accounts.models import Category, Role, User
from gennation.platform.agencies.models import Employee, Mandate
from gennation.platform.database import utcnow
from gennation.platform.errors import Conflict, InvalidField
from gennation.platform.institutions.models import Institution, InstitutionKind
from tests.certificates.conftest import promote
from tests.conftest import api_token, sign_in

STAFF = ["Айгүл Серікқызы Жұмабаева", "Бауыржан Ерланұлы Тоқтаров", "Гүлнәр Әбдіқадырова", "Данияр Өмірзақов",
         "Ербол Нұрланұлы", "Жансая Қайратқызы", "Зарина Оспанова"]


def _person(session, name: str, number: int, **fields) -> User:
    user = User(username=f"staff{number}", username_skeleton=f"staff{number}", password_hash="x", display_name=name,
                region="astana", category=Category.civil_servant, role=Role.civil_servant, language="kk", **fields)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def agency_world(session, loaded):
    """An agency with a mandate of the fixture course: 7 confirmed employees who completed it before
    certificates existed (no certificate), one who has one already, one unconfirmed who completed it, one
    who did not complete it."""
    course = session.exec(select(Course).where(Course.slug == "test-course")).one()
    agency = Institution(name="Цифрлық даму министрлігі", name_ru="Министерство цифрового развития",
                         kind=InstitutionKind.state_body, region="astana")
    session.add(agency)
    session.flush()
    mandate = Mandate(institution_id=agency.id, course_slug="test-course", deadline=utcnow() + timedelta(days=30))
    session.add(mandate)
    people = [_person(session, name, i) for i, name in enumerate(STAFF)]
    certified = _person(session, "Бұрыннан Бар", 90)
    unconfirmed = _person(session, "Расталмаған Қызметкер", 91)
    idle = _person(session, "Бітірмеген Қызметкер", 92)
    for user in (*people, certified, unconfirmed, idle):
        session.add(Employee(institution_id=agency.id, user_id=user.id, department="Бюджет",
                             confirmed_at=None if user is unconfirmed else utcnow()))
        if user is not idle:
            session.add(CourseCompletion(user_id=user.id, course_id=course.id, content_version="v1", hours=6,
                                         score=0.9, completed_at=utcnow() - timedelta(days=400)))
    session.flush()
    done = session.exec(select(CourseCompletion).where(CourseCompletion.user_id == certified.id)).one()
    service.issue_for_completion(session, done)
    session.add(mandate)
    session.commit()
    return {"agency": agency.id, "mandate": mandate.id, "people": [p.id for p in people],
            "certified": certified.id, "unconfirmed": unconfirmed.id, "idle": idle.id}


def _certificates(session) -> list[Certificate]:
    session.expire_all()
    return list(session.exec(select(Certificate).order_by(Certificate.id)))


def _batch(session, batch_id: int) -> CertificateBatch:
    session.expire_all()
    return session.get(CertificateBatch, batch_id)


def _stop_at(number: int, error: type[BaseException]):
    """An issued-certificate hook that fails at the `number`-th certificate (after it was flushed)."""
    seen = []

    def hook(_session, _certificate):
        seen.append(1)
        if len(seen) == number:
            raise error("stopped halfway")
    return hook


class Killed(BaseException):
    """The worker dies mid-step: nothing in the task handles it, as with SIGKILL."""


def _killed_after_one_step(app, session, settings, agency_world) -> CertificateBatch:
    """The agency's batch, its worker dead in the second step of three certificates (one step committed)."""
    batch = service.start_batch(session, BatchKind.agency, agency_world["mandate"], None)
    session.commit()
    stop = _stop_at(4, Killed)
    service.issued_hooks.append(stop)
    try:
        with pytest.raises(Killed):
            tasks.run_batch_in(app.state.db, settings, batch.id, chunk=3)
    finally:
        service.issued_hooks.remove(stop)
    return batch


def test_an_agency_batch_stopped_by_an_error_and_resumed_gives_one_certificate_each(app, session, settings,
                                                                                   agency_world):
    batch = service.start_batch(session, BatchKind.agency, agency_world["mandate"], None)
    session.commit()
    stop = _stop_at(5, RuntimeError)  # steps of 2: two steps committed, the third rolled back
    service.issued_hooks.append(stop)
    try:
        assert tasks.run_batch_in(app.state.db, settings, batch.id, chunk=2) == "failed"
    finally:
        service.issued_hooks.remove(stop)
    stopped = _batch(session, batch.id)
    assert (stopped.status, stopped.done, stopped.total) == (BatchStatus.failed, 4, 7)
    assert "stopped halfway" in stopped.error
    assert len(_certificates(session)) == 1 + 4  # the one issued before, and two whole steps

    service.resume_batch(session, stopped)
    session.commit()
    assert tasks.run_batch_in(app.state.db, settings, batch.id, chunk=2) == "done"
    finished = _batch(session, batch.id)
    assert (finished.status, finished.done, finished.total, finished.skipped) == (BatchStatus.done, 7, 7, 0)
    assert finished.finished_at is not None and finished.started_at <= finished.finished_at
    holders = [c.user_id for c in _certificates(session)]
    assert sorted(holders) == sorted([*agency_world["people"], agency_world["certified"]])  # one each
    assert agency_world["unconfirmed"] not in holders and agency_world["idle"] not in holders
    assert all(c.pdf_status == "ready" for c in _certificates(session) if c.user_id in agency_world["people"])
    # Run once more (a task delivered twice): nothing new.
    assert tasks.run_batch_in(app.state.db, settings, batch.id) == "done"
    assert len(_certificates(session)) == 8


def test_a_killed_batch_is_resumed_only_once_its_worker_is_gone(app, session, settings, agency_world):
    batch = _killed_after_one_step(app, session, settings, agency_world)
    killed = _batch(session, batch.id)
    assert (killed.status, killed.done) == (BatchStatus.running, 3)  # the dead worker never said so
    assert not service.resumable(killed)
    with pytest.raises(service.BatchBusy):  # its heartbeat is recent: a worker may still be on it
        service.start_batch(session, BatchKind.agency, agency_world["mandate"], None)
    session.rollback()
    assert tasks.run_batch_in(app.state.db, settings, batch.id) == "busy"

    killed = _batch(session, batch.id)
    killed.heartbeat_at = utcnow() - service.STALE_AFTER - timedelta(seconds=1)
    session.add(killed)
    session.commit()
    again = service.start_batch(session, BatchKind.agency, agency_world["mandate"], None)  # resumes, no new batch
    session.commit()
    assert again.id == batch.id and again.status == BatchStatus.pending
    assert tasks.run_batch_in(app.state.db, settings, batch.id, chunk=3) == "done"
    finished = _batch(session, batch.id)
    assert (finished.done, finished.total) == (7, 7)
    holders = [c.user_id for c in _certificates(session)]
    assert len(holders) == len(set(holders)) == 8
    assert len(session.exec(select(CertificateBatch)).all()) == 1


def test_a_coordinator_issues_from_the_page_follows_progress_and_downloads_the_zip(client, session, agency_world):
    api_token(client, "hr-admin")
    promote(session, "hr-admin", Role.admin)
    csrf = sign_in(client, "hr-admin", "kk")
    base = f"/kk/agencies/{agency_world['agency']}/mandates/{agency_world['mandate']}/certificates"
    page = client.get(base)
    assert page.status_code == 200 and f'action="{base}/batch"' in page.text
    started = client.post(f"{base}/batch", data={"csrf_token": csrf}, follow_redirects=False)
    assert started.status_code == 303, started.text[:300]
    progress_url = started.headers["location"]
    assert progress_url.startswith(f"{base}/batches/")
    progress = client.get(progress_url)  # embedded: the batch ran in-process before the answer
    assert progress.status_code == 200 and "<html" in progress.text
    assert f'href="{base}.zip"' in progress.text
    assert "7" in progress.text and 'max="7"' in progress.text and 'value="7"' in progress.text
    fragment = client.get(progress_url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="batch-progress"' in fragment.text
    assert "hx-trigger" not in fragment.text  # done: polling stops
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"{base}.zip").content))
    assert len(archive.namelist()) == 8 and all(archive.read(n).startswith(b"%PDF") for n in archive.namelist())
    # Another mandate's path does not show this batch.
    batch_id = progress_url.rsplit("/", 1)[1]
    assert client.get(f"/kk/classes/1/certificates/batches/{batch_id}").status_code == 404
    # Started again: nothing is missing, a new batch of nothing.
    again = client.post(f"{base}/batch", data={"csrf_token": csrf}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] != progress_url
    assert len(_certificates(session)) == 8


def test_a_pending_batch_page_polls_and_offers_no_zip_yet(client, session, agency_world):
    api_token(client, "hr-admin")
    promote(session, "hr-admin", Role.admin)
    sign_in(client, "hr-admin", "ru")
    batch = CertificateBatch(kind=BatchKind.agency, target=agency_world["mandate"], total=7, done=3)
    session.add(batch)
    session.commit()
    base = f"/ru/agencies/{agency_world['agency']}/mandates/{agency_world['mandate']}/certificates"
    page = client.get(f"{base}/batches/{batch.id}")
    assert page.status_code == 200
    assert 'hx-trigger="every 2s"' in page.text and f'href="{base}/batches/{batch.id}"' in page.text  # reload link
    assert f'href="{base}.zip"' not in page.text and "Выдано 3 из 7." in page.text


STAGE = {"kk": "Облыстық кезең", "ru": "Областной этап"}
SEASON = {"kk": "«Генеративті Ұлт» ұлттық турнирі 2026", "ru": "Национальный турнир «Генеративная нация» 2026"}


def test_a_tournament_stage_batch_issues_diplomas_once_and_offers_the_stages_zip(client, app, session, settings, loaded):
    people = [_person(session, name, i) for i, name in enumerate(STAFF[:4])]
    session.commit()
    awards = [(people[0].id, "winner", 1, 97.5), (people[1].id, "prize_winner", 2, 88.0),
              (people[2].id, "prize_winner", 3, None), (people[3].id, "participant", None, 41.0)]
    stage_id = 424242  # a plain integer: no tournament table is needed
    with app.state.db.unit_of_work() as work:  # as the tournament's request would: the task runs after commit
        batch = service.start_diploma_batch(work, stage_id=stage_id, stage_title=STAGE, season_title=SEASON,
                                            awards=awards, by=None)
        assert batch.status == BatchStatus.pending
    finished = _batch(session, batch.id)
    assert (finished.status, finished.done, finished.total) == (BatchStatus.done, 4, 4)
    assert "awards" not in finished.params  # the diplomas hold them now
    diplomas = {c.user_id: c for c in _certificates(session)}
    first = diplomas[people[0].id]
    assert (first.kind, first.source, first.award, first.place, first.score) == (
        "tournament", f"tournament:{stage_id}:{people[0].id}", "winner", 1, 97.5)
    assert first.title == SEASON and first.stage == STAGE and first.holder_name == STAFF[0]
    assert diplomas[people[3].id].place is None and diplomas[people[3].id].award == "participant"

    # Handed over again (one more participant): only the new one is issued.
    api_token(client, "kesh", display_name="Кеш Келген", language="kk")
    late = session.exec(select(User).where(User.username == "kesh")).one()
    with app.state.db.unit_of_work() as work:
        again = service.start_diploma_batch(work, stage_id=stage_id, stage_title=STAGE, season_title=SEASON,
                                            awards=[*awards, (late.id, "participant", None, None)], by=None)
    second = _batch(session, again.id)
    assert (second.id != batch.id, second.done, second.total) == (True, 1, 1) and len(_certificates(session)) == 5

    sign_in(client, "kesh", "kk")
    mine = client.get("/kk/certificates").text
    assert "Қатысушы" in mine and "Облыстық кезең" in mine and "Менің дипломым" in mine
    api_token(client, "organiser")
    promote(session, "organiser", Role.organiser)
    sign_in(client, "organiser", "kk")
    page = client.get(f"/kk/admin/certificates/batches/{again.id}")
    assert page.status_code == 200 and SEASON["kk"] in page.text
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/kk/admin/certificates/batches/{again.id}.zip").content))
    assert sorted(archive.namelist()) == sorted(f"{c.code}.pdf" for c in _certificates(session))
    verify = client.get(f"/api/v1/certificates/{first.public_id}/verify").json()
    assert verify["certificate"]["award"] == "winner" and verify["certificate"]["place"] == 1
    shown = client.get(f"/kk/verify/{first.public_id}").text
    assert "Жеңімпаз" in shown and "Облыстық кезең" in shown


@pytest.mark.parametrize(("field", "kwargs"), [
    ("awards", {"awards": [(1, "champion", 1, None)]}),
    ("awards", {"awards": [(1, "winner", 0, None)]}),
    ("awards", {"awards": [(1, "winner", 1, None), (1, "participant", None, None)]}),
    ("awards", {"awards": [("1", "winner", 1, None)]}),
    ("stage_title", {"stage_title": {"kk": "Кезең"}}),
    ("season_title", {"season_title": {"kk": " ", "ru": "Турнир"}}),
    ("stage_id", {"stage_id": 0}),
])
def test_bad_tournament_results_are_refused_and_nothing_is_started(session, loaded, field, kwargs):
    arguments = {"stage_id": 7, "stage_title": STAGE, "season_title": SEASON, "awards": [], "by": None, **kwargs}
    with pytest.raises(InvalidField) as refused:
        service.start_diploma_batch(session, **arguments)
    assert refused.value.field == field
    assert session.exec(select(CertificateBatch)).all() == []


def test_a_stage_page_is_for_admins_and_organisers_and_a_done_batch_is_not_resumed(client, session, loaded):
    batch = service.start_diploma_batch(session, stage_id=9, stage_title=STAGE, season_title=SEASON, awards=[],
                                        by=None)
    session.commit()
    api_token(client, "just-learner")
    sign_in(client, "just-learner", "kk")
    assert client.get(f"/kk/admin/certificates/batches/{batch.id}").status_code == 403
    with pytest.raises(Conflict):
        service.resume_batch(session, _batch(session, batch.id))


def test_a_class_batch_issues_only_what_was_earned_since_joining(client, app, session, settings, loaded):
    from gennation.platform.institutions.models import Classroom, ClassMember
    teacher = api_token(client, "mugalim-b", role="teacher", category="adult", school_grade="")
    promote(session, "mugalim-b", Role.admin)  # an admin may act for any class
    room = client.post("/api/v1/classes", headers=teacher, json={"name": "9 «Б»"}).json()
    course = session.exec(select(Course).where(Course.slug == "test-course")).one()
    joined = utcnow() - timedelta(days=100)
    since, before = _person(session, "Кейін Бітірген", 60), _person(session, "Бұрын Бітірген", 61)
    for user, when in ((since, joined + timedelta(days=1)), (before, joined - timedelta(days=1))):
        session.add(ClassMember(classroom_id=room["id"], user_id=user.id, joined_at=joined))
        session.add(CourseCompletion(user_id=user.id, course_id=course.id, content_version="v", completed_at=when))
    session.commit()
    assert session.get(Classroom, room["id"]) is not None
    csrf = sign_in(client, "mugalim-b", "kk")
    started = client.post(f"/kk/classes/{room['id']}/certificates/batch", data={"csrf_token": csrf},
                          follow_redirects=False)
    assert started.status_code == 303
    assert [c.user_id for c in _certificates(session)] == [since.id]


def test_the_batch_task_runs_on_the_certificates_queue(app, session, settings, agency_world):
    from gennation.platform.worker import make_celery
    celery = make_celery(settings)
    assert celery.amqp.router.route({}, "certificates.run_batch")["queue"].name == "certificates"
    batch = CertificateBatch(kind=BatchKind.agency, target=agency_world["mandate"])
    session.add(batch)
    session.commit()
    assert celery.tasks["certificates.run_batch"].apply(args=[batch.id]).get() == "done"
    assert _batch(session, batch.id).done == 7
    assert celery.tasks["certificates.run_batch"].apply(args=[987654]).get() == "missing"


def test_the_sweeper_resumes_a_batch_whose_worker_died_and_draws_pdfs_never_drawn(app, session, settings, agency_world):
    batch = _killed_after_one_step(app, session, settings, agency_world)
    assert tasks.sweep_now(settings) == {"batches": 0, "pdfs": 0}  # its worker may still be alive

    undrawn = _certificates(session)[0]
    killed = _batch(session, batch.id)
    killed.heartbeat_at = utcnow() - service.STALE_AFTER - timedelta(seconds=1)
    session.add(killed)
    undrawn.pdf_status, undrawn.created_at = "pending", utcnow() - service.STALE_AFTER - timedelta(seconds=1)
    session.add(undrawn)
    session.commit()
    assert tasks.sweep_now(settings) == {"batches": 1, "pdfs": 1}  # embedded: sent means run, at once

    session.expire_all()
    finished = _batch(session, batch.id)
    assert (finished.status, finished.done, finished.total) == (BatchStatus.done, 7, 7)
    holders = [c.user_id for c in _certificates(session)]
    assert len(holders) == len(set(holders)) == 8
    assert session.get(Certificate, undrawn.id).pdf_status == "ready"
    assert tasks.sweep_now(settings) == {"batches": 0, "pdfs": 0}
