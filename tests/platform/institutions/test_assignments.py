"""Assignments and gradebooks (#10): a teacher assigns a module with a due date, the learner does it
through the courses API, and the gradebook (page, API, CSV) says so with the same numbers."""
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from gennation.courses import service as courses
from gennation.platform.accounts.models import User
from gennation.platform.i18n import gettext
from gennation.platform.institutions import assignments, service
from gennation.platform.institutions.models import ClassMember, Classroom
from tests.conftest import REGISTRATION, count_queries, csrf_of
from tests.courses.answering import api_answers, attempt_answers
from tests.courses.test_service import PERFECT
from tests.platform.test_security import InlineCode

TEACHER = {"role": "teacher", "category": "adult", "school_grade": ""}
WRONG = {**PERFECT, "pick-one": "b", "yes-no": "true", "how-many": "1"}


def account(client, username: str, teacher: bool = False, confirmed: bool = True, session=None) -> dict:
    """An API token of a new learner or teacher (a teacher confirmed unless told otherwise)."""
    kept = dict(client.cookies)
    client.cookies.clear()
    body = {**REGISTRATION, **(TEACHER if teacher else {}), "username": username, "language": "kk"}
    response = client.post("/api/v1/auth/register", json=body)
    client.cookies.update(kept)
    assert response.status_code == 201, response.text
    if teacher and confirmed:
        service.confirm_teacher(session, found(session, username).id, by=None)
        session.commit()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def found(session, username: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


def complete_basics(client, learner: dict, quiz, answers=PERFECT) -> dict:
    for lesson in ("first-steps", "second-steps"):
        assert client.post(f"/api/v1/courses/test-course/lessons/{lesson}/read", headers=learner).status_code == 200
    started = client.post("/api/v1/courses/test-course/quizzes/basics-quiz/attempts?lang=kk", headers=learner).json()
    graded = client.post(f"/api/v1/attempts/{started['attempt_id']}?lang=kk", headers=learner,
                         json=api_answers(started, quiz, "kk", answers))
    assert graded.status_code == 200, graded.text
    return graded.json()


@pytest.fixture
def teacher(client, session):
    return account(client, "mugalim", teacher=True, session=session)


@pytest.fixture
def classroom(client, teacher) -> dict:
    created = client.post("/api/v1/classes", headers=teacher, json={"name": "9 «Б»", "group": "9 Б", "language": "kk"})
    assert created.status_code == 201, created.text
    return created.json()


def test_the_whole_teacher_flow_through_the_api_page_and_csv(client, session, loaded, teacher, classroom):
    assert classroom["join_code"] and classroom["group"] == "9 Б" and classroom["language"] == "kk"
    learner = account(client, "okushy")
    joined = client.post("/api/v1/classes/join", headers=learner, json={"code": classroom["join_code"].lower()})
    assert joined.status_code == 200 and joined.json()["id"] == classroom["id"]
    due = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    assigned = client.post(f"/api/v1/classes/{classroom['id']}/assignments", headers=teacher,
                           json={"course": "test-course", "module": "basics", "due": due.isoformat()})
    assert assigned.status_code == 201, assigned.text
    assert assigned.json()["module"] == "basics" and assigned.json()["quiz"] is None
    assert datetime.fromisoformat(assigned.json()["due"]) == due
    assert assigned.json()["due_local"] == due.astimezone(assignments.ALMATY).strftime("%Y-%m-%d %H:%M")

    mine = client.get("/api/v1/me/assignments", headers=learner).json()
    assert [(m["assignment"]["module"], m["state"]) for m in mine] == [("basics", "not_started")]
    graded = complete_basics(client, learner, loaded.quiz("basics-quiz"))
    assert graded["passed"]

    book = client.get(f"/api/v1/classes/{classroom['id']}/gradebook", headers=teacher)
    assert book.status_code == 200, book.text
    [row] = book.json()["rows"]
    [cell] = row["cells"]
    assert (row["username"], row["stuck"], cell["state"], cell["best_score"], cell["attempts"]) == \
        ("okushy", False, "done", graded["score"], 1)
    assert client.get("/api/v1/me/assignments", headers=learner).json()[0]["state"] == "done"

    client.cookies.clear()
    token = csrf_of(client.get("/kk/login").text)
    client.post("/kk/login", data={"csrf_token": token, "username": "mugalim", "password": REGISTRATION["password"]})
    page = client.get(f"/kk/classes/{classroom['id']}/gradebook")
    assert page.status_code == 200
    assert gettext("kk", "finished") in page.text and f"/kk/classes/{classroom['id']}/tutor" in page.text
    assert no_inline_code(page.text) == []
    for lang in ("kk", "ru"):
        exported = client.get(f"/{lang}/classes/{classroom['id']}/gradebook.csv")
        assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())
        header, line = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert header[0] == gettext(lang, "Learner")
        # minutes spent: the API read no lesson page and submitted the quiz at once
        assert line[1] == "okushy" and line[4:] == ["0", gettext(lang, "finished"), f"{graded['score']:g}", "1", "0"]


def test_due_dates_make_work_overdue_or_done_late(client, session, loaded, teacher, classroom):
    learner = account(client, "okushy")
    client.post("/api/v1/classes/join", headers=learner, json={"code": classroom["join_code"]})
    mugalim = found(session, "mugalim")
    now = datetime.now(UTC)
    # assigned "two days ago", due yesterday: the learner finishes the module today
    late = assignments.assign(session, mugalim, classroom["id"], "test-course", module="basics",
                              due=now - timedelta(days=1), now=now - timedelta(days=2))
    pending = assignments.assign(session, mugalim, classroom["id"], "test-course", module="practice",
                                 due=now + timedelta(days=1))
    session.commit()
    complete_basics(client, learner, loaded.quiz("basics-quiz"))
    room = session.get(Classroom, classroom["id"])
    states = {c.assignment.id: c.state for c in assignments.gradebook(session, room).rows[0].cells}
    assert states == {late.id: "done_late", pending.id: "not_started"}
    later = {c.assignment.id: c.state
             for c in assignments.gradebook(session, room, now=now + timedelta(days=2)).rows[0].cells}
    assert later == {late.id: "done_late", pending.id: "overdue"}


def test_stuck_learners_are_marked_and_listed_first(client, session, loaded, teacher, classroom):
    for name in ("aaa", "bbb", "zzz"):
        client.post("/api/v1/classes/join", headers=account(client, name), json={"code": classroom["join_code"]})
    mugalim = found(session, "mugalim")
    assignments.assign(session, mugalim, classroom["id"], "test-course", quiz="basics-quiz")
    quiz = loaded.quiz("basics-quiz")
    zzz = found(session, "zzz")
    for _ in range(3):
        attempt = courses.open_attempt(session, zzz, quiz)
        courses.grade_attempt(session, zzz, attempt, attempt_answers(attempt, WRONG))
    session.commit()
    room = session.get(Classroom, classroom["id"])
    book = assignments.gradebook(session, room)
    assert [(r.learner.username, bool(r.stuck)) for r in book.rows] == [("zzz", True), ("aaa", False), ("bbb", False)]
    assert book.rows[0].cells[0].attempts == 3 and book.rows[0].cells[0].state == "in_progress"
    idle = assignments.gradebook(session, room, now=datetime.now(UTC) + timedelta(days=8))
    assert all(row.stuck for row in idle.rows)


def test_a_stranger_teacher_gets_404_and_an_unconfirmed_one_403(client, session, loaded, teacher, classroom):
    stranger = account(client, "begde", teacher=True, session=session)
    room = classroom["id"]
    assert client.get(f"/api/v1/classes/{room}/gradebook", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/classes/{room}/assignments", headers=stranger,
                       json={"course": "test-course"}).status_code == 404
    learner = account(client, "okushy")
    assert client.get(f"/api/v1/classes/{room}/gradebook", headers=learner).status_code == 404
    unconfirmed = account(client, "jana", teacher=True, confirmed=False, session=session)
    own = client.post("/api/v1/classes", headers=unconfirmed, json={"name": "10 А"}).json()
    for lang in ("kk", "ru"):
        refused = client.get(f"/api/v1/classes/{own['id']}/gradebook?lang={lang}", headers=unconfirmed)
        assert refused.status_code == 403
        assert refused.json()["detail"] == gettext(lang, service.AWAITING_CONFIRMATION)


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_a_due_date_in_the_past_is_refused_in_the_teachers_language(client, session, loaded, teacher, classroom,
                                                                    lang):
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    refused = client.post(f"/api/v1/classes/{classroom['id']}/assignments?lang={lang}", headers=teacher,
                          json={"course": "test-course", "module": "basics", "due": past})
    assert refused.status_code == 422
    english = "The due date has already passed. Choose a date and time in the future."
    message = gettext(lang, english)
    assert refused.json()["detail"][0]["msg"] == message and message != english
    session.expire_all()
    assert assignments.assignments_of(session, [classroom["id"]]) == []

    client.cookies.clear()
    token = csrf_of(client.get(f"/{lang}/login").text)
    client.post(f"/{lang}/login", data={"csrf_token": token, "username": "mugalim",
                                        "password": REGISTRATION["password"]})
    token = csrf_of(client.get(f"/{lang}/classes").text)
    typed = (datetime.now(assignments.ALMATY) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page = client.post(f"/{lang}/classes/{classroom['id']}/assignments",
                       data={"csrf_token": token, "target": "test-course/module/basics", "due": typed})
    assert page.status_code == 422 and message in page.text
    assert f'value="{typed}"' in page.text and 'value="test-course/module/basics" selected' in page.text


def test_an_archived_class_cannot_be_joined_or_assigned_to(client, session, loaded, teacher, classroom):
    learner = account(client, "okushy")
    client.post("/api/v1/classes/join", headers=learner, json={"code": classroom["join_code"]})
    archived = client.post(f"/api/v1/classes/{classroom['id']}/archive", headers=teacher)
    assert archived.status_code == 200 and archived.json()["archived_at"]
    late = client.post("/api/v1/classes/join?lang=ru", headers=account(client, "keshikken"),
                       json={"code": classroom["join_code"]})
    assert late.status_code == 422
    assert late.json()["detail"][0]["msg"] == gettext("ru", "This class has been archived and can no longer be "
                                                      "joined. Ask your teacher for the code of their current class.")
    refused = client.post(f"/api/v1/classes/{classroom['id']}/assignments", headers=teacher,
                          json={"course": "test-course"})
    assert refused.status_code == 422
    assert client.get(f"/api/v1/classes/{classroom['id']}/gradebook", headers=teacher).json()["rows"][0][
        "username"] == "okushy"  # the archived class keeps its data


def test_a_teacher_removes_a_learner_and_the_same_thing_is_not_assigned_twice(client, session, loaded, teacher,
                                                                              classroom):
    learner = account(client, "okushy")
    client.post("/api/v1/classes/join", headers=learner, json={"code": classroom["join_code"]})
    body = {"course": "test-course", "quiz": "basics-quiz"}
    assert client.post(f"/api/v1/classes/{classroom['id']}/assignments", headers=teacher, json=body).status_code == 201
    twice = client.post(f"/api/v1/classes/{classroom['id']}/assignments", headers=teacher, json=body)
    assert twice.status_code == 422
    learner_id = found(session, "okushy").id
    assert client.delete(f"/api/v1/classes/{classroom['id']}/members/{learner_id}", headers=learner).status_code == 404
    assert client.delete(f"/api/v1/classes/{classroom['id']}/members/{learner_id}",
                         headers=teacher).status_code == 204
    assert session.exec(select(ClassMember).where(ClassMember.user_id == learner_id)).all() == []
    assert client.get("/api/v1/me/assignments", headers=learner).json() == []


def test_learners_see_their_assignments_first_on_their_home_page(client, session, loaded, teacher, classroom):
    client.cookies.clear()
    token = csrf_of(client.get("/kk/register").text)
    client.post("/kk/register", data={"csrf_token": token, "username": "okushy", "language": "kk", **REGISTRATION})
    token = csrf_of(client.get("/kk/classes").text)
    client.post("/kk/classes/join", data={"csrf_token": token, "code": classroom["join_code"]})
    due = datetime.now(UTC) + timedelta(days=2)
    client.post(f"/api/v1/classes/{classroom['id']}/assignments", headers=teacher,
                json={"course": "test-course", "module": "basics", "due": due.isoformat()})
    home = client.get("/kk/").text
    assert home.index(gettext("kk", "My assignments")) < home.index(gettext("kk", "Choose a course"))
    assert assignments.local_text(due) in home and gettext("kk", "not started") in home
    assert no_inline_code(home) == []


def no_inline_code(html: str) -> list[str]:
    """What the strict Content-Security-Policy would refuse on a page."""
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_gradebook_costs_the_same_queries_for_3_or_30_learners(client, session, loaded, teacher, classroom, app):
    mugalim = found(session, "mugalim")
    assignments.assign(session, mugalim, classroom["id"], "test-course", module="basics")
    assignments.assign(session, mugalim, classroom["id"], "test-course", quiz="basics-quiz")
    session.commit()
    quiz = loaded.quiz("basics-quiz")

    def add_learners(names):
        for name in names:
            headers = account(client, name)
            client.post("/api/v1/classes/join", headers=headers, json={"code": classroom["join_code"]})
            complete_basics(client, headers, quiz)

    def measure(path="") -> int:
        client.get(f"/api/v1/classes/{classroom['id']}/gradebook{path}", headers=teacher)
        with count_queries(app.state.engine) as statements:
            response = client.get(f"/api/v1/classes/{classroom['id']}/gradebook{path}", headers=teacher)
        assert response.status_code == 200
        assert all(row["seconds_spent"] >= 0 for row in response.json()["rows"])
        return len(statements), len(response.json()["rows"])

    add_learners([f"first{n}" for n in range(3)])
    three, rows = measure()
    assert rows == 3
    filtered_three, _ = measure("?state=done&q=first")
    add_learners([f"more{n}" for n in range(27)])
    thirty, rows = measure()
    assert rows == 30 and thirty == three, (three, thirty)
    filtered_thirty, rows = measure("?state=done&q=first")
    assert rows == 3 and filtered_thirty == filtered_three, (filtered_three, filtered_thirty)


def sign_in_page(client, username: str, lang: str) -> str:
    client.cookies.clear()
    token = csrf_of(client.get(f"/{lang}/login").text)
    client.post(f"/{lang}/login", data={"csrf_token": token, "username": username,
                                        "password": REGISTRATION["password"]})
    return csrf_of(client.get(f"/{lang}/classes").text)


def test_the_class_pages_keep_what_the_teacher_typed_and_archive_in_russian(client, session, loaded, teacher):
    token = sign_in_page(client, "mugalim", "ru")
    refused = client.post("/ru/classes", data={"csrf_token": token, "name": "10 «А»", "group": "x" * 41,
                                               "language": "ru"})
    assert refused.status_code == 422
    assert gettext("ru", "Write the grade or group in at most 40 characters.") in refused.text
    assert 'value="10 «А»"' in refused.text and 'value="ru" selected' in refused.text
    client.post("/ru/classes", data={"csrf_token": token, "name": "10 «А»", "group": "10 А", "language": "ru"})
    room = service.classes_taught(session, found(session, "mugalim"))[0]
    assert (room.group, room.language) == ("10 А", "ru")
    assert f"/ru/classes/{room.id}/gradebook" in client.get("/ru/classes").text

    learner = account(client, "okushy")
    client.post("/api/v1/classes/join", headers=learner, json={"code": room.join_code})
    learner_id = found(session, "okushy").id
    removed = client.post(f"/ru/classes/{room.id}/members/{learner_id}/remove", data={"csrf_token": token},
                          follow_redirects=False)
    assert removed.status_code == 303
    assert client.post(f"/ru/classes/{room.id}/archive", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert gettext("ru", "archived") in client.get("/ru/classes").text

    token = sign_in_page(client, "okushy", "ru")
    page = client.post("/ru/classes/join", data={"csrf_token": token, "code": room.join_code})
    assert page.status_code == 422 and f'value="{room.join_code}"' in page.text
    assert gettext("ru", "This class has been archived and can no longer be joined. Ask your teacher for the code "
                         "of their current class.") in page.text


# ---------------------------------------------------------------- time spent, filters, the class's institution

def test_time_spent_counts_reading_and_attempts_capped(client, session, loaded, teacher, classroom):
    learner = account(client, "okushy")
    client.post("/api/v1/classes/join", headers=learner, json={"code": classroom["join_code"]})
    mugalim = found(session, "mugalim")
    module = assignments.assign(session, mugalim, classroom["id"], "test-course", module="basics")
    quiz_only = assignments.assign(session, mugalim, classroom["id"], "test-course", quiz="basics-quiz")
    session.commit()
    okushy = found(session, "okushy")
    member = session.exec(select(ClassMember).where(ClassMember.user_id == okushy.id)).one()
    member.joined_at -= timedelta(hours=1)  # joined before the quiz attempt below was opened
    courses.enroll(session, okushy, loaded)
    now = datetime.now(UTC)
    # five minutes on the first lesson; the second left open for three hours counts as the cap
    for lesson, opened_ago in (("first-steps", timedelta(minutes=5)), ("second-steps", timedelta(hours=3))):
        state = courses.learner_state(session, okushy)
        courses.note_lesson_opened(session, okushy, loaded, loaded.lesson(lesson), state)
        state.enrollments[loaded.id].last_opened_at = now - opened_ago
        courses.mark_lesson_read(session, okushy, loaded, loaded.lesson(lesson))
    quiz = loaded.quiz("basics-quiz")
    attempt = courses.open_attempt(session, okushy, quiz)
    courses.grade_attempt(session, okushy, attempt, attempt_answers(attempt, PERFECT))
    attempt.started_at = attempt.graded_at - timedelta(minutes=7)
    session.add(attempt)
    session.commit()
    row = assignments.gradebook(session, session.get(Classroom, classroom["id"])).rows[0]
    cells = {cell.assignment.id: cell for cell in row.cells}
    assert cells[quiz_only.id].seconds == 7 * 60
    assert 5 * 60 <= cells[module.id].seconds - 7 * 60 - 20 * 60 < 5 * 60 + 5
    assert row.seconds == cells[module.id].seconds  # the quiz is in both assignments: counted once
    assert assignments.time_text(row.seconds, "kk") == "32 мин"
    assert assignments.time_text(65 * 60, "kk") == "1 сағ 5 мин" and assignments.time_text(65 * 60, "ru") == "1 ч 5 мин"
    assert assignments.time_text(0, "ru") == "" and assignments.minutes(10) == 1
    api = client.get(f"/api/v1/classes/{classroom['id']}/gradebook", headers=teacher).json()["rows"][0]
    assert (api["seconds_spent"], api["minutes_spent"]) == (row.seconds, 32)


def test_reloading_a_lesson_does_not_restart_its_reading_but_an_hour_later_does(client, session, loaded):
    account(client, "okushy")
    okushy = found(session, "okushy")
    enrollment = courses.enroll(session, okushy, loaded)
    lesson = loaded.lesson("first-steps")
    courses.note_lesson_opened(session, okushy, loaded, lesson, courses.learner_state(session, okushy))
    first = enrollment.last_opened_at
    courses.note_lesson_opened(session, okushy, loaded, lesson, courses.learner_state(session, okushy))
    assert enrollment.last_opened_at == first
    enrollment.last_opened_at = first - timedelta(hours=1)
    courses.note_lesson_opened(session, okushy, loaded, lesson, courses.learner_state(session, okushy))
    assert enrollment.last_opened_at > first - timedelta(minutes=1)
    session.commit()


def filtered_class(client, session, loaded, teacher, classroom):
    """Three learners: one done, one stuck (three failures), one who has not started; a module and a quiz."""
    mugalim = found(session, "mugalim")
    now = datetime.now(UTC)
    module = assignments.assign(session, mugalim, classroom["id"], "test-course", module="basics",
                                due=now + timedelta(days=1))
    quiz_only = assignments.assign(session, mugalim, classroom["id"], "test-course", quiz="practice-quiz")
    session.commit()
    people = {}
    for name in ("dana", "erlan", "zhanna"):
        people[name] = account(client, name)
        client.post("/api/v1/classes/join", headers=people[name], json={"code": classroom["join_code"]})
    complete_basics(client, people["dana"], loaded.quiz("basics-quiz"))
    erlan = found(session, "erlan")
    quiz = loaded.quiz("basics-quiz")
    for _ in range(3):
        attempt = courses.open_attempt(session, erlan, quiz)
        courses.grade_attempt(session, erlan, attempt, attempt_answers(attempt, WRONG))
    session.commit()
    return module, quiz_only


def test_filters_by_state_assignment_and_name_on_the_page_the_api_and_the_csv(client, session, loaded, teacher,
                                                                               classroom):
    module, quiz_only = filtered_class(client, session, loaded, teacher, classroom)
    url = f"/api/v1/classes/{classroom['id']}/gradebook"

    def names(query: str) -> list[str]:
        response = client.get(url + query, headers=teacher)
        assert response.status_code == 200, response.text
        return [row["username"] for row in response.json()["rows"]]

    assert names("") == ["erlan", "dana", "zhanna"]  # the stuck learner first
    assert names("?state=stuck") == ["erlan"]
    assert names("?state=not_started") == ["erlan", "dana", "zhanna"]  # everyone has one not started
    assert names(f"?state=not_started&assignment={module.id}") == ["zhanna"]
    assert names(f"?state=done&assignment={module.id}") == ["dana"]
    assert names("?q=ZHAN") == ["zhanna"]
    one = client.get(f"{url}?assignment={quiz_only.id}", headers=teacher).json()
    assert [a["id"] for a in one["assignments"]] == [quiz_only.id] and one["learners"] == 3
    assert all(len(row["cells"]) == 1 for row in one["rows"])
    for bad in ("?state=lost", "?assignment=abc", "?assignment=999999", "?assignment=" + "9" * 40):
        refused = client.get(f"{url}{bad}&lang=ru", headers=teacher)
        assert refused.status_code == 422, bad
        assert refused.json()["detail"][0]["msg"] in (
            gettext("ru", "There is no such state to filter by: showing every state."),
            gettext("ru", "This class has no such assignment: showing every assignment."))

    sign_in_page(client, "mugalim", "ru")
    page = client.get(f"/ru/classes/{classroom['id']}/gradebook?state=stuck")
    assert page.status_code == 200 and "erlan" in page.text and "zhanna" not in page.text
    assert gettext("ru", "Learners shown: %(shown)s of %(total)s.", shown=1, total=3) in page.text
    assert "gradebook.csv?state=stuck" in page.text and 'value="stuck" selected' in page.text
    fragment = client.get(f"/ru/classes/{classroom['id']}/gradebook?q=dana", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert '<div id="gradebook-table"' in fragment.text and "<html" not in fragment.text
    assert "dana" in fragment.text and "erlan" not in fragment.text
    for bad in ("?state=%3Cscript%3E", "?assignment=-1", "?assignment=1e9", "?q=" + "x" * 500):
        ignored = client.get(f"/ru/classes/{classroom['id']}/gradebook{bad}")
        assert ignored.status_code == 200, bad
        assert "<script>" not in ignored.text
    ignored = client.get(f"/ru/classes/{classroom['id']}/gradebook?state=lost&assignment=abc")
    assert gettext("ru", "There is no such state to filter by: showing every state.") in ignored.text
    assert gettext("ru", "This class has no such assignment: showing every assignment.") in ignored.text
    assert all(name in ignored.text for name in ("dana", "erlan", "zhanna"))
    nobody = client.get(f"/ru/classes/{classroom['id']}/gradebook?q=nobody")
    assert gettext("ru", "No learner matches these filters.") in nobody.text

    exported = client.get(f"/ru/classes/{classroom['id']}/gradebook.csv?state=done&assignment={module.id}")
    header, *lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [line[1] for line in lines] == ["dana"] and len(header) == 5 + 4
    assert client.get(f"/ru/classes/{classroom['id']}/gradebook.csv?state=lost").status_code == 200


def test_a_class_belongs_to_the_teachers_institution_unless_another_or_none_is_chosen(client, session, loaded):
    from gennation.platform.institutions.models import Institution, InstitutionKind
    school = Institution(name="№ 12 мектеп-гимназия", name_ru="Школа-гимназия № 12", kind=InstitutionKind.school,
                         region="shymkent")
    college = Institution(name="Шымкент жоғары колледжі", name_ru="Шымкентский высший колледж",
                          kind=InstitutionKind.college, region="shymkent")
    session.add_all([school, college])
    session.commit()
    client.cookies.clear()
    registered = client.post("/api/v1/auth/register", json={**REGISTRATION, **TEACHER, "username": "mugalim",
                                                             "language": "ru", "institution_id": school.id})
    assert registered.status_code == 201, registered.text
    teacher = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    service.confirm_teacher(session, found(session, "mugalim").id, by=None)
    session.commit()
    own = client.post("/api/v1/classes?lang=ru", headers=teacher, json={"name": "9 А"}).json()
    assert (own["institution_id"], own["institution"]) == (school.id, "Школа-гимназия № 12")
    other = client.post("/api/v1/classes", headers=teacher, json={"name": "9 Б", "institution_id": college.id})
    assert other.json()["institution_id"] == college.id
    assert client.post("/api/v1/classes", headers=teacher,
                       json={"name": "9 В", "institution_id": None}).json()["institution_id"] is None
    wrong = client.post("/api/v1/classes?lang=kk", headers=teacher, json={"name": "9 Г", "institution_id": 999999})
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["msg"] == gettext(
        "kk", "There is no such institution in the directory. Choose one from the list.")

    token = sign_in_page(client, "mugalim", "ru")
    form = client.get("/ru/classes").text
    assert f'name="institution_id" value="{school.id}" checked' in form
    found_page = client.post("/ru/classes", data={"csrf_token": token, "name": "10 А", "institution_q": "колледж",
                                                  "find_institution": "1"})
    assert found_page.status_code == 200 and f'value="{college.id}"' in found_page.text
    assert 'value="10 А"' in found_page.text
    refused = client.post("/ru/classes", data={"csrf_token": token, "name": "10 А", "institution_id": "77777"})
    assert refused.status_code == 422 and 'value="10 А"' in refused.text
    assert gettext("ru", "There is no such institution in the directory. Choose one from the list.") in refused.text
    client.post("/ru/classes", data={"csrf_token": token, "name": "10 А", "institution_id": str(college.id)})
    client.post("/ru/classes", data={"csrf_token": token, "name": "10 Б", "institution_id": ""})
    by_name = {c.name: c for c in service.classes_taught(session, found(session, "mugalim"))}
    assert (by_name["10 А"].institution_id, by_name["10 Б"].institution_id) == (college.id, None)
    page = client.get(f"/ru/classes/{by_name['10 А'].id}/gradebook").text
    assert "Шымкентский высший колледж" in page
    session.delete(session.get(Institution, college.id))  # a closed college: its classes stay, without it
    session.commit()
    session.expire_all()
    assert session.get(Classroom, by_name["10 А"].id).institution_id is None
