"""Who may call what (#issue: permissions): one table of every teacher, coordinator and admin route (pages
and API) and the status each kind of person must get. A teacher sees only their own classes, a coordinator
only their institution or agency, an admin everything, a learner only their own data; another's class or
agency looks as if it did not exist (404), a role that may never do a thing gets 403, and a refused
answer never holds the other class's name, join code, learners or conversations.

The table must name every route under the guarded prefixes, so that a new one fails here until someone
decides who may call it. Guarded: `/{lang}/classes…`, `/{lang}/agencies…`, `/{lang}/admin…` and their
`/api/v1/…` twins, `…/institutions/{id}/…` (an institution's own data; the public `/institutions/search`
is not), and the tutor's teacher routes (`/{lang}/tutor/messages/{id}/correction`; the class's
conversations are `/{lang}/classes/{id}/tutor`). Learner-side routes elsewhere (`/me/…`, `/join/{code}`,
`/agency-invitations/…`) are the person's own and are tested with their features.

The world is built once (accounts, tokens, signed-in cookies, a class, an agency with a mandatory course)
and each case runs on a fresh copy of its SQLite file, so a case that archives or imports changes nothing
for the next. SQLite only: the rules live in the services, not in SQL, and 550 cases on PostgreSQL
would double the suite's time for nothing more.
"""
from __future__ import annotations

import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import select

from gennation.certificates.models import CertificateBatch
from gennation.courses.service import load_courses
from gennation.courses.source import read_all
from gennation.platform.accounts.models import Role, User
from gennation.platform.accounts.service import set_role
from gennation.platform.agencies import service as agencies
from gennation.platform.app import create_app
from gennation.platform.database import utcnow
from gennation.platform.institutions import directory, service
from gennation.platform.limits import counters_for
from gennation.platform.institutions.models import ClassInvitation, Institution, InstitutionKind
from gennation.platform.settings import Settings
from gennation.tutor.models import AnswerKind, Conversation, TutorMessage
from tests.conftest import FIXTURE_CONTENT, REGISTRATION, RELAXED, csrf_of, sign_in

ACTORS = ("anonymous", "learner", "stranger", "teacher", "other_teacher", "unconfirmed_teacher", "coordinator",
          "other_coordinator", "agency_coordinator", "other_agency_coordinator", "admin")
SIGNED_IN = ACTORS[1:]
TEACHERS = ("teacher", "other_teacher", "unconfirmed_teacher", "coordinator", "other_coordinator")
NOT_TEACHERS = ("learner", "stranger", "agency_coordinator", "other_agency_coordinator")

TEACHER = {"role": "teacher", "category": "adult", "school_grade": ""}
CIVIL = {"role": "civil_servant", "category": "civil_servant", "school_grade": ""}

# What only the class's own teacher, an admin (and the learner, their own) may ever see.
CLASS_NAME = "7 «Ж» Жұлдызды сынып"
LEARNER_NAME = "Айгерім Сырымқызы"
QUESTION = "Менің құпия сұрағым: жасанды интеллект түс көре ме?"
# What only the agency's coordinator and an admin may see.
EMPLOYEE_NAME = "Марат Құпиябеков"
# A teacher awaiting confirmation: shown to admins and the coordinator of their institution only.
AWAITING_NAME = "Жаңа Мұғалімқызы"

DIRECTORY_CSV = "kind;region;name_kk;name_ru;bin\nschool;astana;№ 99 мектеп;Школа № 99;\n".encode()
ROSTER_CSV = "аты-жөні;username\nДәулет Тестов;\n".encode()
STAFF_CSV = f"ФИО;Подразделение\n{EMPLOYEE_NAME};Бухгалтерия\nСәуле Жаңаева;Бухгалтерия\n".encode()
DEADLINE = (date.today() + timedelta(days=30)).isoformat()


@dataclass
class World:
    db: Path
    var_dir: Path
    ids: dict[str, int] = field(default_factory=dict)
    join_code: str = ""
    other_join_code: str = ""
    bearer: dict[str, dict] = field(default_factory=dict)  # actor: headers
    cookies: dict[str, dict] = field(default_factory=dict)  # actor: the signed-in browser's cookies
    csrf: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)


def _settings(db: Path, var_dir: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{db}", secret_key="permissions-secret-" + "x" * 32, var_dir=var_dir,
                    content_dir=FIXTURE_CONTENT, tutor_model_path=var_dir / "no-model.gguf",
                    page_cache_seconds=0).resolved()


def _user(session, username: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


def _register(client: TestClient, username: str, display_name: str | None = None, **fields) -> dict:
    client.cookies.clear()
    body = {**REGISTRATION, **fields, "username": username, "language": "kk"}
    if display_name:
        body["display_name"] = display_name
    response = client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory, sqlite_template) -> World:
    root = tmp_path_factory.mktemp("permissions")
    built = World(db=root / "world.db", var_dir=root / "var")
    built.var_dir.mkdir()
    shutil.copy(sqlite_template, built.db)
    app = create_app(_settings(built.db, built.var_dir))
    with TestClient(app) as client, app.state.db.session() as session:
        courses, _glossary, errors = read_all(FIXTURE_CONTENT, RELAXED)
        assert errors == []
        load_courses(session, courses)
        school = Institution(name="№ 7 мектеп-лицей", kind=InstitutionKind.school, region="shymkent")
        other_school = Institution(name="№ 3 лицей", kind=InstitutionKind.school, region="astana")
        agency = Institution(name="Цифрлық даму министрлігі", kind=InstitutionKind.state_body, region="astana")
        other_agency = Institution(name="Қаржы министрлігі", kind=InstitutionKind.state_body, region="astana")
        session.add_all([school, other_school, agency, other_agency])
        session.commit()

        usernames = {"learner": "aigerim-s", "stranger": "begde", "teacher": "mugalim", "other_teacher": "baska",
                     "unconfirmed_teacher": "jana-mugalim", "coordinator": "uilestirushi",
                     "other_coordinator": "baska-uilestirushi", "agency_coordinator": "hr-officer",
                     "other_agency_coordinator": "baska-hr", "admin": "admin1"}
        fields = {"learner": {"display_name": LEARNER_NAME},
                  "unconfirmed_teacher": {**TEACHER, "display_name": AWAITING_NAME},
                  **{actor: TEACHER for actor in ("teacher", "other_teacher", "coordinator", "other_coordinator")},
                  "agency_coordinator": CIVIL, "other_agency_coordinator": CIVIL}
        for actor, username in usernames.items():
            built.bearer[actor] = _register(client, username, **fields.get(actor, {}))
        _register(client, "jana-hr", **CIVIL)  # an account to appoint as a coordinator
        set_role(session, "admin1", Role.admin)
        session.commit()
        homes = {"teacher": school, "unconfirmed_teacher": school, "coordinator": school,
                 "other_teacher": other_school, "other_coordinator": other_school}
        for actor, home in homes.items():
            person = _user(session, usernames[actor])
            person.institution_id = home.id
            if actor != "unconfirmed_teacher":
                person.teacher_confirmed_at = utcnow()
            session.add(person)
            session.commit()  # before the next _user(), which forgets what is not committed
        admin = _user(session, "admin1")
        service.appoint(session, admin, school.id, "uilestirushi")
        service.appoint(session, admin, other_school.id, "baska-uilestirushi")
        service.appoint(session, admin, agency.id, "hr-officer")
        service.appoint(session, admin, other_agency.id, "baska-hr")

        teacher, learner = _user(session, "mugalim"), _user(session, "aigerim-s")
        room = service.open_class(session, teacher, CLASS_NAME, "7 Ж", "kk", school.id)
        other_room = service.open_class(session, _user(session, "baska"), "8 «В» басқа сынып", "8 В", "kk")
        session.commit()
        service.join_class(session, learner, room.join_code)
        invitation = ClassInvitation(classroom_id=other_room.id, user_id=learner.id, invited_by=other_room.teacher_id)
        session.add(invitation)
        session.commit()
        conversation = Conversation(user_id=learner.id, course="test-course", lesson="first-steps")
        session.add(conversation)
        session.commit()
        asked = TutorMessage(conversation_id=conversation.id, role="learner", text=QUESTION, lang="kk")
        session.add(asked)
        session.commit()
        reply = TutorMessage(conversation_id=conversation.id, role="tutor", reply_to_id=asked.id, lang="kk",
                             text="Жоқ, ол түс көрмейді.", kind=AnswerKind.answer)
        session.add(reply)
        session.commit()

        mandate = agencies.set_mandate(session, admin, agency.id, "test-course", DEADLINE)
        stage = {"stage_title": {"kk": "Кезең", "ru": "Этап"}, "season_title": {"kk": "Турнир", "ru": "Турнир"},
                 "awards": []}
        batches = {"class_batch": CertificateBatch(kind="class", target=room.id, status="done"),
                   "agency_batch": CertificateBatch(kind="agency", target=mandate.id, status="done"),
                   "stage_batch": CertificateBatch(kind="stage", target=77, status="failed", params=stage)}
        session.add_all(batches.values())
        session.flush()
        checked = agencies.check_staff(session, admin, agency.id, STAFF_CSV)
        assert checked.clean, checked.errors
        agencies.add_staff(session, admin, agency.id, checked, "kk")
        session.commit()

        imports = built.var_dir / "imports"
        built.uploads = {"directory": directory.keep(imports, DIRECTORY_CSV),
                         "roster": directory.keep(imports / "rosters", ROSTER_CSV),
                         "staff": directory.keep(imports, STAFF_CSV)}
        built.join_code, built.other_join_code = room.join_code, other_room.join_code
        built.ids = {"class": room.id, "learner": learner.id, "teacher": teacher.id,
                     "unconfirmed_teacher": _user(session, "jana-mugalim").id, "invitation": invitation.id,
                     "reply": reply.id, "school": school.id, "agency": agency.id, "mandate": mandate.id,
                     **{name: batch.id for name, batch in batches.items()}}

        for actor, username in usernames.items():
            built.csrf[actor] = sign_in(client, username)
            built.cookies[actor] = dict(client.cookies)
        client.cookies.clear()  # an anonymous visitor with a session of their own (its CSRF token passes)
        built.csrf["anonymous"] = csrf_of(client.get("/kk/login").text)
        built.cookies["anonymous"] = dict(client.cookies)
    app.state.engine.dispose()
    return built


# ---------------------------------------------------------------- the table

@dataclass(frozen=True)
class Call:
    method: str
    path: str  # as the app declares it
    allowed: dict[str, int]  # actor: status when allowed
    refused: int = 404  # for everyone else signed in
    refusals: dict[str, int] = field(default_factory=dict)  # exceptions to `refused`
    params: dict[str, str] = field(default_factory=dict)  # path parameter: key of World.ids
    form: dict | None = None  # pages: form fields (the CSRF token is added)
    json: dict | None = None  # API
    upload: bytes | None = None  # a file in the `file` field

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    def expected(self, actor: str) -> int | str:
        if actor == "anonymous":
            return 401 if self.api else "login"
        return self.allowed.get(actor, self.refusals.get(actor, self.refused))


def only(status: int, *actors: str) -> dict[str, int]:
    return {actor: status for actor in actors}


OWN = ("teacher", "admin")  # the class's own teacher, and admins
AGENCY = ("agency_coordinator", "admin")
VOUCHERS = ("coordinator", "other_coordinator", "admin")  # who confirms teachers: schools' coordinators, admins
CLASS = "/{lang}/classes/{classroom_id}"
API_CLASS = "/api/v1/classes/{classroom_id}"
AGENCY_PAGE = "/{lang}/agencies/{agency_id}"
API_AGENCY = "/api/v1/agencies/{agency_id}"

TABLE = [
    # classes: pages
    Call("GET", "/{lang}/classes", only(200, *SIGNED_IN)),
    Call("POST", "/{lang}/classes", only(303, *TEACHERS, "admin"), refused=403, form={"name": "Жаңа сынып"}),
    Call("POST", "/{lang}/classes/join", only(303, *SIGNED_IN), form={"code": "OTHER"}),
    Call("GET", CLASS + "/join-code.png", only(200, *OWN)),
    Call("POST", CLASS + "/leave", only(303, "learner"), form={}),
    Call("GET", CLASS + "/gradebook", only(200, *OWN)),
    Call("GET", CLASS + "/gradebook.csv", only(200, *OWN)),
    Call("POST", CLASS + "/assignments", only(303, *OWN), form={"target": "test-course"}),
    Call("POST", CLASS + "/archive", only(303, *OWN), form={}),
    Call("POST", CLASS + "/members/{user_id}/remove", only(303, *OWN), params={"user_id": "learner"}, form={}),
    Call("POST", CLASS + "/roster/check", only(200, *OWN), form={}, upload=ROSTER_CSV),
    Call("POST", CLASS + "/roster/import", only(200, *OWN), form={"upload": "roster", "file_name": "7zh.csv"}),
    Call("POST", CLASS + "/roster/codes", only(200, *OWN), form={}),
    Call("POST", "/{lang}/classes/invitations/{invitation_id}/accept", only(303, "learner"), form={}),
    Call("POST", "/{lang}/classes/invitations/{invitation_id}/decline", only(303, "learner"), form={}),
    Call("GET", CLASS + "/tutor", only(200, *OWN)),
    Call("GET", CLASS + "/certificates", only(200, *OWN)),
    Call("GET", CLASS + "/certificates.zip", only(200, *OWN)),
    Call("POST", CLASS + "/certificates/batch", only(303, *OWN), form={}),
    Call("GET", CLASS + "/certificates/batches/{batch_id}", only(200, *OWN), params={"batch_id": "class_batch"}),
    # An admin reads a class's conversations but corrects nothing: corrections are the teacher's own word.
    Call("POST", "/{lang}/tutor/messages/{message_id}/correction", only(303, "teacher"),
         params={"message_id": "reply"}, form={"correction": "Дұрысы: модель түс көрмейді."}),
    # teachers awaiting confirmation, the directory, the tutor's oversight: pages
    Call("GET", "/{lang}/admin/teachers", only(200, *VOUCHERS), refused=403),
    Call("GET", "/{lang}/admin/audit", only(200, "admin"), refused=403),
    Call("POST", "/{lang}/admin/teachers/{user_id}/confirm", only(303, "coordinator", "admin"), refused=403,
         refusals=only(404, "other_coordinator"), params={"user_id": "unconfirmed_teacher"}, form={}),
    Call("POST", "/{lang}/admin/teachers/{user_id}/coordinator", only(303, "admin"), refused=403,
         params={"user_id": "teacher"}, form={}),
    Call("GET", "/{lang}/admin/institutions", only(200, "admin"), refused=403),
    Call("POST", "/{lang}/admin/institutions/check", only(200, "admin"), refused=403, form={}, upload=DIRECTORY_CSV),
    Call("POST", "/{lang}/admin/institutions/import", only(200, "admin"), refused=403,
         form={"upload": "directory", "file_name": "directory.csv"}),
    Call("GET", "/{lang}/admin/tutor", only(200, "admin"), refused=403),
    Call("GET", "/{lang}/admin/indicators", only(200, "admin"), refused=403),
    Call("POST", "/{lang}/admin/indicators/population/check", only(422, "admin"), refused=403, form={},
         upload=DIRECTORY_CSV),
    Call("POST", "/{lang}/admin/indicators/population/load", only(404, "admin"), refused=403,
         form={"upload": "directory", "file_name": "population.csv"}),
    Call("POST", "/{lang}/admin/indicators/roll-up", only(200, "admin"), refused=403, form={}),
    # a tournament stage's diplomas being issued (admins and organisers; organisers are not in this table)
    Call("GET", "/{lang}/admin/certificates/batches/{batch_id}", only(200, "admin"), refused=403,
         params={"batch_id": "stage_batch"}),
    Call("GET", "/{lang}/admin/certificates/batches/{batch_id}.zip", only(200, "admin"), refused=403,
         params={"batch_id": "stage_batch"}),
    Call("POST", "/{lang}/admin/certificates/batches/{batch_id}/resume", only(303, "admin"), refused=403,
         params={"batch_id": "stage_batch"}, form={}),
    Call("GET", "/{lang}/admin/institutions/{institution_id}", only(200, "admin"), refused=403,
         params={"institution_id": "school"}),
    Call("POST", "/{lang}/admin/institutions/{institution_id}/coordinators", only(303, "admin"), refused=403,
         params={"institution_id": "agency"}, form={"username": "jana-hr"}),
    # agencies: pages (a coordinator of one agency goes straight to it)
    Call("GET", "/{lang}/agencies", {**only(200, *SIGNED_IN), **only(303, "agency_coordinator",
                                                                     "other_agency_coordinator")}),
    Call("GET", AGENCY_PAGE, only(200, *AGENCY)),
    Call("POST", AGENCY_PAGE + "/mandates", only(303, *AGENCY), form={"course": "test-course", "deadline": DEADLINE}),
    Call("POST", AGENCY_PAGE + "/staff/check", only(200, *AGENCY), form={}, upload=STAFF_CSV),
    Call("POST", AGENCY_PAGE + "/staff/import", only(200, *AGENCY), form={"upload": "staff", "file_name": "staff.csv"}),
    Call("GET", AGENCY_PAGE + "/mandates/{mandate_id}", only(200, *AGENCY)),
    Call("GET", AGENCY_PAGE + "/mandates/{mandate_id}/report.csv", only(200, *AGENCY)),
    Call("GET", AGENCY_PAGE + "/mandates/{mandate_id}/certificates", only(200, *AGENCY)),
    Call("GET", AGENCY_PAGE + "/mandates/{mandate_id}/certificates.zip", only(200, *AGENCY)),
    Call("POST", AGENCY_PAGE + "/mandates/{mandate_id}/certificates/batch", only(303, *AGENCY), form={}),
    Call("GET", AGENCY_PAGE + "/mandates/{mandate_id}/certificates/batches/{batch_id}", only(200, *AGENCY),
         params={"batch_id": "agency_batch"}),
    Call("POST", AGENCY_PAGE + "/mandates/{mandate_id}/remind", only(303, *AGENCY), form={}),
    # classes: API
    Call("POST", "/api/v1/classes", only(201, *TEACHERS, "admin"), refused=403, json={"name": "Жаңа сынып"}),
    Call("POST", "/api/v1/classes/join", only(200, *SIGNED_IN), json={"code": "OTHER"}),
    Call("POST", API_CLASS + "/archive", only(200, *OWN)),
    Call("DELETE", API_CLASS + "/members/{user_id}", only(204, *OWN), params={"user_id": "learner"}),
    Call("POST", API_CLASS + "/assignments", only(201, *OWN), json={"course": "test-course"}),
    Call("GET", API_CLASS + "/gradebook", only(200, *OWN)),
    Call("DELETE", API_CLASS + "/membership", only(204, "learner")),
    Call("GET", "/api/v1/admin/teachers", only(200, *VOUCHERS), refused=403),
    Call("GET", "/api/v1/admin/audit", only(200, "admin"), refused=403),
    Call("POST", "/api/v1/admin/teachers/{user_id}/confirm", only(200, "coordinator", "admin"), refused=403,
         refusals=only(404, "other_coordinator"), params={"user_id": "unconfirmed_teacher"}),
    # an institution's own records (which courses it teaches are public; only its coordinator records them)
    Call("POST", "/api/v1/institutions/{institution_id}/adoptions", only(201, "coordinator", "admin"),
         params={"institution_id": "school"},
         json={"course": "test-course", "programme": "Информатика", "since": "2025-09-01"}),
    Call("GET", "/api/v1/institutions/{institution_id}/adoptions", only(200, *SIGNED_IN),
         params={"institution_id": "school"}),
    Call("POST", "/api/v1/institutions/{institution_id}/teachers", only(201, "coordinator", "admin"),
         params={"institution_id": "school"}, json={"name": "Дина Жаңабекова"}),
    Call("POST", "/api/v1/institutions/{institution_id}/coordinators", only(201, "admin"), refused=403,
         params={"institution_id": "agency"}, json={"username": "jana-hr"}),
    # agencies: API
    Call("POST", API_AGENCY + "/mandates", only(201, *AGENCY), json={"course": "test-course", "deadline": DEADLINE}),
    Call("GET", API_AGENCY + "/mandates", only(200, *AGENCY)),
    Call("POST", API_AGENCY + "/staff", only(200, *AGENCY), upload=STAFF_CSV),
    Call("GET", API_AGENCY + "/mandates/{mandate_id}/report", only(200, *AGENCY)),
    Call("GET", API_AGENCY + "/mandates/{mandate_id}/report.csv", only(200, *AGENCY)),
    Call("POST", API_AGENCY + "/mandates/{mandate_id}/reminders", only(200, *AGENCY)),
]

DEFAULT_PARAMS = {"lang": None, "classroom_id": "class", "agency_id": "agency", "mandate_id": "mandate",
                  "invitation_id": "invitation"}
GUARDED = re.compile(r"^(/\{lang\}|/api/v1)/(classes|agencies|admin)(/|$)"
                     r"|^(/\{lang\}|/api/v1)/institutions/\{"
                     r"|^/\{lang\}/tutor/.*correction")


def _declared_routes(app) -> set[tuple[str, str]]:
    return {(method, context.path) for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute) for method in context.methods}


def test_the_table_names_every_guarded_route_and_no_other(world, tmp_path):
    app = create_app(_settings(world.db, tmp_path))
    guarded = {(method, path) for method, path in _declared_routes(app) if GUARDED.search(path) and method != "HEAD"}
    assert len(guarded) > 40  # the enumeration sees the app's routes
    in_table = {(call.method, call.path) for call in TABLE}
    assert len(in_table) == len(TABLE), "a route is in the table twice"
    assert guarded - in_table == set(), "routes nobody decided permissions for: add them to TABLE"
    assert in_table - guarded == set(), "routes in TABLE the app no longer has (or outside the guarded prefixes)"


def _url(call: Call, world: World) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "lang":
            return "kk"
        return str(world.ids[call.params.get(name) or DEFAULT_PARAMS[name]])
    return re.sub(r"\{(\w+)\}", value, call.path)


def _secrets(actor: str, world: World) -> list[str]:
    """What this actor must never read in this answer."""
    found = []
    if actor not in ("teacher", "admin", "learner"):
        found += [CLASS_NAME, world.join_code, LEARNER_NAME, "aigerim-s", QUESTION]
    if actor not in AGENCY:
        found.append(EMPLOYEE_NAME)
    if actor not in ("coordinator", "admin", "unconfirmed_teacher"):
        found.append(AWAITING_NAME)
    return found


def _case_id(call: Call, actor: str) -> str:
    return f"{call.method} {call.path} as {actor}"


CASES = [pytest.param(call, actor, id=_case_id(call, actor)) for call in TABLE for actor in ACTORS]


@dataclass
class Live:
    client: TestClient
    db: Path
    var_dir: Path


@pytest.fixture(scope="module")
def live(world, tmp_path_factory):
    """One app for every case (starting one takes longer than a case); `fresh` restores its world."""
    root = tmp_path_factory.mktemp("permissions-live")
    db, var_dir = root / "live.db", root / "var"
    shutil.copy(world.db, db)
    shutil.copytree(world.var_dir, var_dir)
    app = create_app(_settings(db, var_dir))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Live(client, db, var_dir)
    app.state.engine.dispose()


@pytest.fixture
def fresh(world, live) -> TestClient:
    """The world as built: SQLite's backup copies it page by page into the open database, so the app's
    pooled connections read it at their next transaction; kept uploads and write counters start afresh."""
    source, target = sqlite3.connect(world.db), sqlite3.connect(live.db)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    shutil.rmtree(live.var_dir)
    shutil.copytree(world.var_dir, live.var_dir)
    live.client.app.state.counters = counters_for("")
    live.client.cookies.clear()
    return live.client


@pytest.mark.parametrize(("call", "actor"), CASES)
def test_each_route_answers_each_role_as_the_table_says(world, fresh, call, actor):
    response = _send(fresh, call, actor, world)
    expected = call.expected(actor)
    got = response.status_code
    if expected == "login":
        assert got == 303 and "/kk/login" in response.headers.get("location", ""), (got, response.text[:300])
    else:
        assert got == expected, f"{_case_id(call, actor)}: got {got}, expected {expected}: {response.text[:300]}"
    body = response.text
    leaked = [secret for secret in _secrets(actor, world) if secret in body]
    assert leaked == [], f"{_case_id(call, actor)} shows {leaked}"


def _send(client: TestClient, call: Call, actor: str, world: World):
    url = _url(call, world)
    files = {"file": ("list.csv", call.upload, "text/csv")} if call.upload is not None else None
    if call.api:
        headers = world.bearer.get(actor, {})
        json = {key: world.other_join_code if value == "OTHER" else value for key, value in (call.json or {}).items()}
        return client.request(call.method, url, headers=headers, json=json if call.json is not None else None,
                              files=files, follow_redirects=False)
    client.cookies.update(world.cookies[actor])
    if call.method == "GET":
        return client.get(url, follow_redirects=False)
    form = {"csrf_token": world.csrf[actor]}
    for key, value in (call.form or {}).items():
        if key == "upload":
            value = world.uploads[value]
        form[key] = world.other_join_code if value == "OTHER" else value
    return client.request(call.method, url, data=form, files=files, follow_redirects=False)


def test_an_agency_coordinator_cannot_confirm_a_teacher_who_names_the_agency(world, fresh):
    """Anyone may register as a teacher and name any institution of the directory, an agency too; its HR
    officer, who coordinates it, must not be able to vouch for them (found by the table above)."""
    _register(fresh, "ministry-teacher", **TEACHER, institution_id=world.ids["agency"])
    with fresh.app.state.db.session() as session:
        teacher = _user(session, "ministry-teacher")
        assert teacher.institution_id == world.ids["agency"]
    hr = world.bearer["agency_coordinator"]
    confirmed = fresh.post(f"/api/v1/admin/teachers/{teacher.id}/confirm", headers=hr)
    with fresh.app.state.db.session() as session:
        assert _user(session, "ministry-teacher").teacher_confirmed_at is None, confirmed.text
    assert confirmed.status_code == 403
    assert fresh.get("/api/v1/admin/teachers", headers=hr).status_code == 403


def test_the_secrets_looked_for_are_spelled_as_the_allowed_pages_show_them(world, fresh):
    """Otherwise the leak check above could pass by never matching anything."""
    def page(actor: str, path: str) -> str:
        fresh.cookies.clear()
        fresh.cookies.update(world.cookies[actor])
        response = fresh.get(path.format(**world.ids))
        assert response.status_code == 200, response.text[:300]
        return response.text
    gradebook = page("teacher", "/kk/classes/{class}/gradebook")
    assert CLASS_NAME in gradebook and LEARNER_NAME in gradebook and "aigerim-s" in gradebook
    assert world.join_code in page("teacher", "/kk/classes")
    assert QUESTION in page("teacher", "/kk/classes/{class}/tutor")
    assert EMPLOYEE_NAME in page("agency_coordinator", "/kk/agencies/{agency}/mandates/{mandate}/report.csv")
    assert AWAITING_NAME in page("coordinator", "/kk/admin/teachers")
