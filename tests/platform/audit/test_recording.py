"""Each action of an admin, organiser, coordinator or teacher on someone else's data writes exactly one audit
row, with who acted, under which role or grant, and whose data it was; a learner's own changes write none."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlmodel import select

from gennation.certificates import service as certificates
from gennation.certificates.models import BatchKind, BatchStatus, Certificate, CertificateBatch
from gennation.courses.service import load_courses
from gennation.platform.accounts import first_time
from gennation.platform.accounts import service as accounts
from gennation.platform.accounts.models import Category, Role
from gennation.platform.agencies import service as agencies
from gennation.platform.agencies.models import Employee, Mandate
from gennation.platform.audit import service as audit
from gennation.platform.audit.models import AuditEvent
from gennation.platform.database import utcnow
from gennation.platform.institutions import assignments, directory, roster
from gennation.platform.institutions import service as institutions
from gennation.platform.institutions.models import ClassMember, Coordinator, Institution, InstitutionKind
from gennation.tournament import service as tournament
from gennation.tournament.models import Participant, StageKind, StageStatus
from tests.tournament import builders

TITLE = {"kk": "Жаңа", "ru": "Новый"}


@dataclass
class World:
    people: dict
    school: Institution
    agency: Institution
    classroom: object
    made_pupil: object  # an account the teacher made (a first-time code not yet used)
    mandate: Mandate
    season: dict
    participant: Participant
    certificate: Certificate
    var_dir: object


@pytest.fixture
def world(session, loaded, settings) -> World:
    people = {name: builders.person(session, name, role=role, category=category, grade=grade) for name, role, category, grade in (
        ("admin", Role.admin, "adult", None), ("teacher", Role.teacher, "adult", None),
        ("coordinator", Role.teacher, "adult", None), ("newcomer", Role.teacher, "adult", None),
        ("hr", Role.civil_servant, "civil_servant", None), ("clerk", Role.civil_servant, "civil_servant", None),
        ("organiser", Role.organiser, "adult", None), ("pupil", Role.learner, "school_student", 7),
        ("other_pupil", Role.learner, "school_student", 7))}
    school = Institution(name="№ 1 мектеп", name_ru="Школа № 1", kind=InstitutionKind.school, region="shymkent")
    agency = Institution(name="Министрлік", name_ru="Министерство", kind=InstitutionKind.state_body, region="astana")
    session.add_all([school, agency])
    session.flush()
    for name in ("teacher", "coordinator"):
        people[name].teacher_confirmed_at = utcnow()
    people["coordinator"].institution_id = people["newcomer"].institution_id = school.id
    people["hr"].institution_id = people["clerk"].institution_id = agency.id
    session.add_all([Coordinator(institution_id=school.id, user_id=people["coordinator"].id),
                     Coordinator(institution_id=agency.id, user_id=people["hr"].id)])
    classroom = institutions.open_class(session, people["teacher"], "7 «А»", "7 А")
    session.add(ClassMember(classroom_id=classroom.id, user_id=people["pupil"].id))
    made_pupil, _code = first_time.create_account(session, people["teacher"], "Дәулет Тестов", role=Role.learner,
                                                  category=Category.school_student, region="shymkent",
                                                  institution_id=None, language="kk", school_grade=7)
    session.add(ClassMember(classroom_id=classroom.id, user_id=made_pupil.id))
    mandate = Mandate(institution_id=agency.id, course_slug="test-course", deadline=utcnow() + timedelta(days=30))
    session.add_all([mandate, Employee(institution_id=agency.id, user_id=people["clerk"].id, department="Бухгалтерия",
                                       confirmed_at=utcnow())])
    season = builders.season(session, settings.var_dir)
    participant = Participant(season_id=season["season"].id, user_id=people["pupil"].id, category_id=season["school"].id,
                              region="shymkent")
    session.add(participant)
    certificate = certificates.issue(session, Certificate(
        source="test:1", user_id=people["pupil"].id, holder_name="Оқушы", title=TITLE, issued_on=date.today(),
        public_id="", code=""))
    session.commit()
    return World(people, school, agency, classroom, made_pupil, mandate, season, participant, certificate,
                 settings.var_dir)


def _roster(session, w, text: str):
    return roster.import_class_roster(session, w.people["teacher"], w.classroom.id,
                                      roster.check_class_list(session, text.encode()))


def _staff(session, w, text: str):
    checked = agencies.check_staff(session, w.people["hr"], w.agency.id, text.encode())
    assert checked.clean, checked.errors
    return agencies.add_staff(session, w.people["hr"], w.agency.id, checked, "kk")


def _advance(session, w):
    qualifier = w.season["qualifier"]
    builders.stage(session, w.season["season"], 2, StageKind.regional, utcnow() + timedelta(days=2), StageStatus.draft)
    qualifier.status = StageStatus.locked
    return tournament.advance(session, w.people["organiser"], qualifier)


def _appeal(session, w):
    filed = tournament.appeal(session, w.people["pupil"], w.season["qualifier"], "Менің нәтижем қате")  # their own
    return tournament.answer_appeal(session, w.people["organiser"], filed.id, "Тексердік, нәтиже дұрыс.")


def _resume(session, w):
    batch = CertificateBatch(kind=BatchKind.classroom, target=w.classroom.id, status=BatchStatus.failed,
                             created_by=w.people["teacher"].id)
    session.add(batch)
    session.flush()
    return certificates.resume_batch(session, batch, w.people["teacher"])


def _requeue(session, w):
    task = w.season["practical"]["grades-5-8"]
    sent = tournament.send_entry(session, w.people["pupil"], task, "p.csv", builders.predictions(w.season["labels"], 1.0),
                                 w.var_dir)  # the participant's own: not logged
    return tournament.requeue(session, [sent.entry.id], actor=w.people["organiser"])


def _quiz_task(session, w):
    draft = builders.stage(session, w.season["season"], 2, StageKind.regional, utcnow() + timedelta(days=2),
                           StageStatus.draft)
    return tournament.add_quiz_task(session, draft, w.season["school"], title=TITLE, description=TITLE,
                                    questions=builders.BANK, draw=5, minutes=10, actor=w.people["organiser"])


def _reload(session, w):
    from gennation.courses.source import read_all
    from tests.conftest import FIXTURE_CONTENT, RELAXED
    return load_courses(session, read_all(FIXTURE_CONTENT, RELAXED)[0])


p = lambda w, name: w.people[name]  # noqa: E731
# (action, who acts, whose data (a person's name, or None), the grant expected, what they do)
CASES = [
    ("user.role_set", "admin", "pupil", "admin",
     lambda s, w: accounts.set_role(s, "pupil", Role.teacher, by=p(w, "admin"))),
    ("user.first_time_code_reissued", "teacher", "made", "teacher",
     lambda s, w: first_time.new_code(s, p(w, "teacher"), w.made_pupil)),
    ("teacher.confirmed", "coordinator", "newcomer", "coordinator:{school}",
     lambda s, w: institutions.confirm_teacher(s, p(w, "newcomer").id, by=p(w, "coordinator"))),
    ("teacher.confirmed", "admin", "newcomer", "admin",
     lambda s, w: institutions.confirm_teacher(s, p(w, "newcomer").id, by=p(w, "admin"))),
    ("institution.coordinator_appointed", "admin", "teacher", "admin",
     lambda s, w: institutions.appoint(s, p(w, "admin"), w.school.id, "teacher")),
    ("institution.teacher_invited", "coordinator", "invited", "coordinator:{school}",
     lambda s, w: institutions.invite_teacher(s, p(w, "coordinator"), w.school.id, "Асан Үсенов", "kk")),
    ("institutions.imported", "admin", None, "admin",
     lambda s, w: directory.import_rows(s, directory.check(s, "kind;region;name_kk;name_ru;bin\nschool;astana;№ 9 мектеп;"
                                                              "Школа № 9;\n".encode()), p(w, "admin"))),
    ("institution.adoption_recorded", "coordinator", None, "coordinator:{school}",
     lambda s, w: directory.record_adoption(s, p(w, "coordinator"), w.school.id, "test-course", "Информатика",
                                            date(2026, 9, 1))),
    ("class.learner_added", "teacher", "made_now", "teacher", lambda s, w: _roster(s, w, "аты-жөні\nЖаңа Оқушы\n")),
    ("class.learner_invited", "teacher", "other_pupil", "teacher",
     lambda s, w: _roster(s, w, "аты-жөні;username\nБасқа Оқушы;other_pupil\n")),
    ("class.learner_removed", "teacher", "pupil", "teacher",
     lambda s, w: institutions.remove_learner(s, p(w, "teacher"), w.classroom.id, p(w, "pupil").id)),
    ("class.archived", "teacher", None, "teacher",
     lambda s, w: institutions.archive_class(s, p(w, "teacher"), w.classroom.id)),
    ("class.assignment_added", "teacher", None, "teacher",
     lambda s, w: assignments.assign(s, p(w, "teacher"), w.classroom.id, "test-course")),
    ("agency.mandate_set", "hr", None, "coordinator:{agency}",
     lambda s, w: agencies.set_mandate(s, p(w, "hr"), w.agency.id, "test-course", date.today() + timedelta(days=9))),
    ("agency.employee_added", "hr", "made_now", "coordinator:{agency}",
     lambda s, w: _staff(s, w, "ФИО;Подразделение\nМарат Жаңаев;Бухгалтерия\n")),
    ("agency.employee_moved", "hr", "clerk", "coordinator:{agency}",
     lambda s, w: _staff(s, w, "ФИО;Подразделение;Логин\nКлерк;Кадрлар;clerk\n")),
    ("agency.employee_removed", "hr", "clerk", "coordinator:{agency}",
     lambda s, w: agencies.remove_employee(s, p(w, "hr"), w.agency.id, p(w, "clerk").id)),
    ("agency.reminders_sent", "admin", None, "admin",
     lambda s, w: agencies.remind(s, p(w, "admin"), w.agency.id, w.mandate.id)),
    ("tournament.season_created", "organiser", None, "organiser",
     lambda s, w: tournament.create_season(s, p(w, "organiser"), "season-2", TITLE)),
    ("tournament.category_added", "organiser", None, "organiser",
     lambda s, w: tournament.add_category(s, p(w, "organiser"), w.season["season"], "teachers", TITLE, ["adult"])),
    ("tournament.stage_added", "organiser", None, "organiser",
     lambda s, w: tournament.add_stage(s, p(w, "organiser"), w.season["season"], "regional", TITLE,
                                       utcnow() + timedelta(days=3), utcnow() + timedelta(days=4))),
    ("tournament.stage_moved", "organiser", None, "organiser",
     lambda s, w: tournament.move(s, w.season["qualifier"], StageStatus.closed, p(w, "organiser"))),
    ("tournament.task_added", "organiser", None, "organiser", _quiz_task),
    ("tournament.task_rescored", "organiser", None, "organiser",
     lambda s, w: tournament.start_rescore(s, p(w, "organiser"), w.season["practical"]["grades-5-8"], metric="macro_f1")),
    ("tournament.entry_disqualified", "organiser", "pupil", "organiser",
     lambda s, w: tournament.disqualify(s, p(w, "organiser"), w.participant, "Бір файл екі аккаунттан")),
    ("tournament.extra_time_granted", "organiser", "pupil", "organiser",
     lambda s, w: tournament.grant_extra_time(s, p(w, "organiser"), w.season["qualifier"], w.participant, 15,
                                              "Интернет үзілді")),
    ("tournament.appeal_answered", "organiser", "pupil", "organiser", _appeal),
    ("tournament.stage_advanced", "organiser", None, "organiser", _advance),
    ("tournament.entries_requeued", "organiser", None, "organiser", _requeue),
    ("certificate.revoked", "organiser", "pupil", "organiser",
     lambda s, w: certificates.revoke(s, p(w, "organiser"), w.certificate.public_id, "Қате берілген")),
    ("certificate.reissued", "admin", "pupil", "admin",
     lambda s, w: certificates.reissue(s, p(w, "admin"), w.certificate.public_id, "Оқушы Дұрысаты", "Аты қате")),
    ("certificates.batch_started", "hr", None, "coordinator:{agency}",
     lambda s, w: certificates.start_batch(s, BatchKind.agency, w.mandate.id, p(w, "hr"))),
    ("certificates.batch_resumed", "teacher", None, "teacher", _resume),
    ("content.reloaded", None, None, "operator", _reload),
]


def _last(session) -> AuditEvent | None:
    return session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def _ids(session) -> set[int]:
    return set(session.exec(select(AuditEvent.id)))


def test_every_logged_action_has_a_case():
    assert {case[0] for case in CASES} == set(audit.ACTIONS)


@pytest.mark.parametrize(("action", "actor", "affected", "grant", "act"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_action_writes_one_row_naming_actor_grant_and_person(session, world, action, actor, affected, grant, act):
    before = _ids(session)
    result = act(session, world)
    new = [e for e in session.exec(select(AuditEvent)) if e.id not in before]
    assert [e.action for e in new] == [action]
    event = new[0]
    assert event.actor_id == (world.people[actor].id if actor else None)
    assert event.actor_role == grant.format(school=world.school.id, agency=world.agency.id)
    if affected == "made":
        expected = world.made_pupil.id
    elif affected == "made_now":  # the account the action itself made
        expected = (result.created[0].user.id if hasattr(result, "created") else result.accounts[0][0].id)
    elif affected == "invited":
        expected = result[0].id
    else:
        expected = world.people[affected].id if affected else None
    assert event.affected_user_id == expected
    assert event.object_type and event.at is not None
    words = str(event.detail).lower()
    assert not any(secret in words for secret in ("password", "code_hash", "argon2"))


def test_the_detail_says_what_changed_and_never_holds_a_secret(session, world):
    accounts.set_role(session, "pupil", Role.teacher, by=world.people["admin"])
    assert _last(session).detail == {"from": "learner", "to": "teacher"}
    with pytest.raises(ValueError):
        audit.record(session, world.people["admin"], "user.role_set", object_type="user", detail={"password": "x"})
    with pytest.raises(ValueError):
        audit.record(session, world.people["admin"], "user.renamed_by_mistake", object_type="user")


def test_doing_nothing_new_writes_nothing(session, world):
    """Confirming a confirmed teacher, setting the role someone has, importing what is there: no change, no row."""
    before = _ids(session)
    institutions.confirm_teacher(session, world.people["teacher"].id, by=world.people["admin"])
    accounts.set_role(session, "organiser", Role.organiser, by=world.people["admin"])
    institutions.appoint(session, world.people["admin"], world.school.id, "coordinator")
    institutions.archive_class(session, world.people["teacher"], world.classroom.id)
    institutions.archive_class(session, world.people["teacher"], world.classroom.id)
    assert [e.action for e in session.exec(select(AuditEvent)) if e.id not in before] == ["class.archived"]


def test_a_clock_move_is_the_schedule_not_an_action(session, world):
    before = _ids(session)
    tournament.move(session, world.season["qualifier"], StageStatus.closed, None)
    assert _ids(session) == before


def test_the_command_line_logs_the_operator(session, world, settings, monkeypatch):
    from typer.testing import CliRunner

    from gennation.platform import cli
    from gennation.platform.settings import get_settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url.replace("postgresql+psycopg://", "postgresql://"))
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["users", "set-role", "other_pupil", "teacher"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    session.expire_all()
    rows = list(session.exec(select(AuditEvent).where(AuditEvent.affected_user_id == world.people["other_pupil"].id)
                             .order_by(AuditEvent.id)))
    assert [(e.action, e.actor_id, e.actor_role) for e in rows] == [
        ("user.role_set", None, "operator"), ("teacher.confirmed", None, "operator")]
