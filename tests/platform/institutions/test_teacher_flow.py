"""The whole teacher flow, in Kazakh and in Russian: a confirmed teacher opens a class (of their
institution), a learner joins with the code, the teacher assigns a module with a due date, the learner
reads its lessons and passes its quiz, and the gradebook (JSON, page, CSV) shows the cell done with the
score and the time spent. Once through the API, once through the pages in Chromium, with screenshots
(var/screenshots/teacher-flow-{lang}-{step}.png) and axe-core on the class page, the filtered gradebook
and the learner's home page."""
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from gennation.courses.models import QuizAttempt
from gennation.platform.i18n import gettext
from gennation.platform.institutions import assignments, service
from gennation.platform.institutions.models import ClassMember, Institution, InstitutionKind
from tests.browser import axe_violations, screenshot, serve
from tests.conftest import REGISTRATION
from tests.courses.answering import api_answers, page_form
from tests.courses.test_service import PERFECT
from tests.platform.institutions.test_assignments import TEACHER, account, found
from tests.platform.institutions.test_gradebook_browser import sign_in

LANGS = ["kk", "ru"]


def school(session) -> Institution:
    institution = Institution(name="№ 12 мектеп-гимназия", name_ru="Школа-гимназия № 12",
                              kind=InstitutionKind.school, region="shymkent")
    session.add(institution)
    session.commit()
    return institution


def teacher_of(client, session, institution: Institution, lang: str) -> dict:
    """A confirmed teacher registered with `institution`: their API token."""
    kept = dict(client.cookies)
    client.cookies.clear()
    registered = client.post("/api/v1/auth/register", json={**REGISTRATION, **TEACHER, "username": "mugalim",
                                                             "language": lang, "institution_id": institution.id})
    client.cookies.update(kept)
    assert registered.status_code == 201, registered.text
    service.confirm_teacher(session, found(session, "mugalim").id, by=None)
    session.commit()
    return {"Authorization": f"Bearer {registered.json()['access_token']}"}


# ---------------------------------------------------------------- through the API

@pytest.mark.parametrize("lang", LANGS)
def test_the_teacher_flow_through_the_api_and_the_csv(client, session, loaded, lang):
    institution = school(session)
    teacher = teacher_of(client, session, institution, lang)
    room = client.post(f"/api/v1/classes?lang={lang}", headers=teacher,
                       json={"name": "9 «Б»", "group": "9 Б", "language": lang})
    assert room.status_code == 201, room.text
    room = room.json()
    assert (room["language"], room["institution_id"]) == (lang, institution.id)
    assert room["institution"] == institution.title(lang)

    learner = account(client, "okushy")
    assert client.post("/api/v1/classes/join", headers=learner, json={"code": room["join_code"]}).status_code == 200
    due = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    assigned = client.post(f"/api/v1/classes/{room['id']}/assignments?lang={lang}", headers=teacher,
                           json={"course": "test-course", "module": "basics", "due": due.isoformat()})
    assert assigned.status_code == 201, assigned.text
    assert client.get("/api/v1/me/assignments", headers=learner).json()[0]["state"] == "not_started"

    for lesson in ("first-steps", "second-steps"):
        read = client.post(f"/api/v1/courses/test-course/lessons/{lesson}/read", headers=learner)
        assert read.status_code == 200, read.text
    started = client.post(f"/api/v1/courses/test-course/quizzes/basics-quiz/attempts?lang={lang}",
                          headers=learner).json()
    # The learner takes six minutes over the quiz (the attempt opened six minutes before it is sent);
    # they joined the class before that.
    okushy = found(session, "okushy")
    attempt = session.get(QuizAttempt, started["attempt_id"])
    attempt.started_at = datetime.now(UTC) - timedelta(minutes=6)
    member = session.exec(select(ClassMember).where(ClassMember.user_id == okushy.id)).one()
    member.joined_at = datetime.now(UTC) - timedelta(hours=1)
    session.add_all([attempt, member])
    session.commit()
    graded = client.post(f"/api/v1/attempts/{started['attempt_id']}?lang={lang}", headers=learner,
                         json=api_answers(started, loaded.quiz("basics-quiz"), lang, PERFECT))
    assert graded.status_code == 200 and graded.json()["passed"], graded.text

    book = client.get(f"/api/v1/classes/{room['id']}/gradebook?lang={lang}", headers=teacher)
    assert book.status_code == 200, book.text
    [row] = book.json()["rows"]
    [cell] = row["cells"]
    assert (cell["state"], cell["best_score"], cell["attempts"]) == ("done", graded.json()["score"], 1)
    assert 6 * 60 <= cell["seconds_spent"] < 6 * 60 + 30 and cell["minutes_spent"] == 6
    assert (row["seconds_spent"], row["minutes_spent"], row["stuck"]) == (cell["seconds_spent"], 6, False)
    assert client.get("/api/v1/me/assignments", headers=learner).json()[0]["state"] == "done"

    sign_in_client(client, "mugalim", lang)
    exported = client.get(f"/{lang}/classes/{room['id']}/gradebook.csv")
    assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())
    header, line = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    title = assigned.json()["title"]
    assert header == [gettext(lang, "Learner"), gettext(lang, "Username"), gettext(lang, "Needs help"),
                      gettext(lang, "Last activity"), gettext(lang, "Time spent, minutes (estimate)"),
                      f"{title}: {gettext(lang, 'state')}", f"{title}: {gettext(lang, 'best score')}",
                      f"{title}: {gettext(lang, 'attempts')}", f"{title}: {gettext(lang, 'minutes')}"]
    assert line == [row["display_name"], "okushy", "", assignments.local_text(datetime.fromisoformat(
        row["last_activity"])), "6", gettext(lang, "finished"), f"{graded.json()['score']:g}", "1", "6"]
    page = client.get(f"/{lang}/classes/{room['id']}/gradebook").text
    assert assignments.time_text(cell["seconds_spent"], lang) in page and institution.title(lang) in page


def sign_in_client(client, username: str, lang: str) -> None:
    from tests.conftest import csrf_of
    client.cookies.clear()
    token = csrf_of(client.get(f"/{lang}/login").text)
    client.post(f"/{lang}/login", data={"csrf_token": token, "username": username,
                                        "password": REGISTRATION["password"]})


# ---------------------------------------------------------------- through the pages, in Chromium

def shot(page, lang: str, step: str) -> None:
    screenshot(page, f"teacher-flow-{lang}-{step}")


def answer_quiz(page, quiz, lang: str) -> None:
    """Fill the quiz form on the page with the right answers, as a person would click them."""
    page.locator("fieldset.question").first.wait_for()
    form = page_form(page.content(), quiz, lang, PERFECT)
    for name, value in form.items():
        for one in value if isinstance(value, list) else [value]:
            if page.locator(f'select[name="{name}"]').count():
                page.select_option(f'select[name="{name}"]', one)
            elif page.locator(f'input[name="{name}"][value="{one}"]').count():
                page.check(f'input[name="{name}"][value="{one}"]')
            else:
                page.fill(f'input[name="{name}"]', one)


@pytest.mark.parametrize("lang", LANGS)
def test_the_teacher_flow_through_the_pages_passes_axe(client, session, loaded, app, page, lang):
    from playwright.sync_api import expect
    institution = school(session)
    teacher_of(client, session, institution, lang)
    account(client, "okushy")
    found_violations: dict = {}

    def audit(name: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", lang)
        violations = axe_violations(page)
        if violations:
            found_violations[name] = violations

    with serve(app) as base:
        # the teacher opens a class; the form has their institution chosen already
        sign_in(page, base, "mugalim", lang)
        page.goto(f"{base}/{lang}/classes")
        page.fill("#class-name", "9 «Б»")
        page.fill("#class-group", "9 Б")
        expect(page.locator(f'input[name="institution_id"][value="{institution.id}"]')).to_be_checked()
        shot(page, lang, "1-open-class")
        with page.expect_navigation():
            page.get_by_role("button", name=gettext(lang, "Open a class")).click()
        code = page.locator("li code").first.inner_text()
        page.get_by_role("link", name=gettext(lang, "Gradebook")).first.click()
        expect(page.locator("#class-institution")).to_contain_text(institution.title(lang))

        # and assigns the first module, due in three days (Almaty time)
        page.select_option("#assign-target", "test-course/module/basics")
        due = (datetime.now(assignments.ALMATY) + timedelta(days=3)).replace(hour=18, minute=0)
        page.fill("#assign-due", due.strftime("%Y-%m-%dT%H:%M"))
        with page.expect_navigation():
            page.get_by_role("button", name=gettext(lang, "Assign")).click()
        expect(page.locator("#assign-error")).to_have_count(0)
        expect(page.locator("ul.assigned li")).to_contain_text(due.strftime("%Y-%m-%d 18:00"))
        class_url = page.url
        shot(page, lang, "2-class-page")

        # the learner joins with the code and sees the assignment on their home page
        sign_in(page, base, "okushy", lang)
        page.goto(f"{base}/{lang}/classes")
        page.fill("#class-code", code)
        with page.expect_navigation():
            page.get_by_role("button", name=gettext(lang, "Join the class")).click()
        page.goto(f"{base}/{lang}/")
        expect(page.locator(".assignments li")).to_have_count(1)
        expect(page.locator(".assignments li")).to_contain_text(gettext(lang, "not started"))
        expect(page.locator(".assignments li")).to_contain_text(due.strftime("%Y-%m-%d 18:00"))
        shot(page, lang, "3-learner-home")
        audit("learner home with assignments")

        # reads both lessons of the module and passes its quiz
        page.locator(".assignments li a").first.click()
        page.get_by_role("button", name=gettext(lang, "Start this course")).click()
        page.wait_for_timeout(1500)  # a (very) quick reader: reading time is counted in whole seconds
        page.get_by_role("button", name=gettext(lang, "I have read this lesson")).click()
        page.get_by_role("link", name=gettext(lang, "Next lesson")).click()
        shot(page, lang, "4-lesson")
        page.get_by_role("button", name=gettext(lang, "I have read this lesson")).click()
        page.get_by_role("link", name=gettext(lang, "Take the module quiz")).click()
        answer_quiz(page, loaded.quiz("basics-quiz"), lang)
        page.get_by_role("button", name=gettext(lang, "Check my answers")).click()
        expect(page.locator("#quiz-result")).to_contain_text(gettext(lang, "Passed!"))
        shot(page, lang, "5-quiz-passed")
        page.goto(f"{base}/{lang}/")
        expect(page.locator(".assignments li")).to_contain_text(gettext(lang, "finished"))

        # the teacher's gradebook says so: done, best score, attempts, time spent
        account(client, "ekinshi")  # a second learner, who has not started
        second = found(session, "ekinshi")
        room = service.classes_taught(session, found(session, "mugalim"))[0]
        service.join_class(session, second, room.join_code)
        session.commit()
        sign_in(page, base, "mugalim", lang)
        page.goto(class_url)
        done = page.locator("table.gradebook tbody tr", has_text="okushy")
        expect(done.locator("td.state-done")).to_contain_text(f"{gettext(lang, 'best score')}: 100%")
        expect(done.locator("td.state-done")).to_contain_text(f"{gettext(lang, 'attempts')}: 1")
        expect(done.locator("td.time-spent")).to_contain_text(gettext(lang, "%(minutes)s min", minutes=1))
        expect(page.locator("table.gradebook tbody tr")).to_have_count(2)
        shot(page, lang, "6-gradebook")
        audit("class page")

        # filters, through htmx: only the table is swapped, and the CSV link follows them
        page.select_option("#filter-state", "not_started")
        expect(page.locator("table.gradebook tbody tr")).to_have_count(1)
        expect(page.locator("table.gradebook tbody")).to_contain_text("ekinshi")
        expect(page.locator("a[href*='gradebook.csv?state=not_started']")).to_have_count(1)
        page.select_option("#filter-state", "")
        page.fill("#filter-q", "okus")
        expect(page.locator("#gradebook-table")).to_contain_text(
            gettext(lang, "Learners shown: %(shown)s of %(total)s.", shown=1, total=2))
        expect(page.locator("table.gradebook tbody tr")).to_have_count(1)
        expect(page.locator("table.gradebook tbody")).to_contain_text("okushy")
        page.wait_for_timeout(600)  # no late answer of an earlier filter replaces the table
        expect(page.locator("table.gradebook tbody tr")).to_have_count(1)
        shot(page, lang, "7-gradebook-filtered")
        audit("gradebook with filters")
        csv_url = page.locator("a[href*='gradebook.csv']").get_attribute("href")
        exported = page.request.get(f"{base}{csv_url}")
        lines = list(csv.reader(io.StringIO(exported.body().decode("utf-8-sig"))))
        assert [line[1] for line in lines[1:]] == ["okushy"]
        assert lines[1][5:8] == [gettext(lang, "finished"), "100", "1"] and lines[1][4] == lines[1][8] == "1"

        # the same filters without JavaScript: plain GET parameters
        page.goto(f"{class_url}?state=stuck&assignment=nonsense")
        expect(page.locator("#gradebook-table")).to_contain_text(
            gettext(lang, "This class has no such assignment: showing every assignment."))
        expect(page.locator("#gradebook-table")).to_contain_text(gettext(lang, "No learner matches these filters."))
    assert found_violations == {}
