"""Agencies (#10): a coordinator makes the civil-service course mandatory, adds the staff by department,
one employee passes the final exam (which alone completes that course), and the report for HR (page,
API, CSV) shows 1 of 3 done and, after the deadline, the other two overdue."""
import csv
import io
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from gennation.courses.models import CourseCompletion
from gennation.courses.service import course_progress
from gennation.platform.accounts.models import FirstTimeCode, User
from gennation.platform.agencies import service
from gennation.platform.agencies.models import Employee, Reminder
from gennation.platform.i18n import gettext
from tests.conftest import REGISTRATION, api_token, sign_in
from tests.courses.answering import api_answers

CIVIL = {"role": "civil_servant", "category": "civil_servant", "school_grade": ""}
EXAM = {slug: "a" for slug in ("e1", "e2", "e3", "e4")}
STAFF = ("ФИО;Подразделение;Логин\n"
         "Асқар Төлеуов;Цифрландыру басқармасы;\n"
         "Мария Ким;Заң департаменті;\n"
         "Dana Serikova;Цифрландыру басқармасы;dana\n").encode()


def user(session, username: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


def add_staff(client, headers, agency_id: int, data: bytes, dry_run: bool):
    return client.post(f"/api/v1/agencies/{agency_id}/staff?dry_run={str(dry_run).lower()}&lang=ru", headers=headers,
                       files={"file": ("staff.csv", data, "text/csv")})


def pass_final(client, headers, course) -> dict:
    started = client.post("/api/v1/courses/civil-course/quizzes/final-exam/attempts?lang=ru", headers=headers).json()
    graded = client.post(f"/api/v1/attempts/{started['attempt_id']}?lang=ru", headers=headers,
                         json=api_answers(started, course.quiz("final-exam"), "ru", EXAM))
    assert graded.status_code == 200 and graded.json()["passed"], graded.text
    return graded.json()


def test_passing_the_final_exam_alone_completes_a_course_completed_by_its_exam(client, session, civil_course):
    headers = api_token(client, "official", **CIVIL)
    pass_final(client, headers, civil_course)
    official = user(session, "official")
    completion = session.exec(select(CourseCompletion).where(CourseCompletion.user_id == official.id)).one()
    assert completion.hours == 2 and completion.score == 100
    assert course_progress(session, civil_course, official).steps_done == 1  # no lesson read, and still complete


def test_the_agency_flow_one_of_three_done_and_two_overdue_after_the_deadline(client, session, civil_course,
                                                                              agencies, coordinator):
    ours, _theirs = agencies
    dana = api_token(client, "dana", **CIVIL)
    deadline = date.today() + timedelta(days=10)
    mandate = client.post(f"/api/v1/agencies/{ours}/mandates", headers=coordinator,
                          json={"course": "civil-course", "deadline": deadline.isoformat()})
    assert mandate.status_code == 201, mandate.text
    mandate_id = mandate.json()["id"]

    checked = add_staff(client, coordinator, ours, STAFF, dry_run=True)
    assert checked.status_code == 200 and checked.json()["new_accounts"] == 2 and checked.json()["existing_accounts"] == 1
    assert session.exec(select(Employee)).all() == []  # a dry run writes nothing
    added = add_staff(client, coordinator, ours, STAFF, dry_run=False).json()
    assert {a["name"] for a in added["accounts"]} == {"Асқар Төлеуов", "Мария Ким"} and added["invited"] == 1
    assert all(len(a["first_time_code"].replace("-", "").replace(" ", "")) == 8 for a in added["accounts"])
    again = add_staff(client, coordinator, ours, STAFF, dry_run=False).json()
    assert again["accounts"] == [] and again["unchanged"] == 3  # the same file changes nothing

    # Dana already had an account: she is counted only once she accepts.
    report = client.get(f"/api/v1/agencies/{ours}/mandates/{mandate_id}/report", headers=coordinator).json()
    assert report["total"]["employees"] == 2 and report["awaiting_acceptance"] == 1
    invitation = client.get("/api/v1/me/agency-invitations", headers=dana).json()
    assert [i["department"] for i in invitation] == ["Цифрландыру басқармасы"]
    assert client.post(f"/api/v1/me/agency-invitations/{invitation[0]['id']}", headers=dana,
                       json={"accept": True}).status_code == 204

    pass_final(client, dana, civil_course)
    report = client.get(f"/api/v1/agencies/{ours}/mandates/{mandate_id}/report", headers=coordinator).json()
    assert (report["total"]["employees"], report["total"]["done"], report["total"]["overdue"]) == (3, 1, 0)
    digital = next(d for d in report["departments"] if d["department"] == "Цифрландыру басқармасы")
    assert (digital["employees"], digital["done"], digital["not_started"], digital["exam_passed"]) == (2, 1, 1, 1)
    assert digital["average_score"] == 100

    after = datetime.combine(deadline + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=12)
    hr = user(session, "hr-officer")
    late = service.report(session, hr, ours, mandate_id, now=after)
    assert (late.total.employees, late.total.done, late.total.overdue) == (3, 1, 2)
    assert sorted(p.name for p in late.overdue) == ["Асқар Төлеуов", "Мария Ким"]
    rows = list(csv.reader(io.StringIO(service.report_csv(session, hr, ours, mandate_id, "kk", now=after).lstrip("\ufeff")),
                           delimiter=";"))
    assert rows[0][0] == gettext("kk", "Department")
    states = {row[1]: row[3] for row in rows[1:]}
    assert states == {REGISTRATION["display_name"]: gettext("kk", "finished"), "Асқар Төлеуов": gettext("kk", "overdue"),
                      "Мария Ким": gettext("kk", "overdue")}
    assert next(row for row in rows if row[1] == REGISTRATION["display_name"])[5] == "100"  # her account's name

    # Reminders reach the two not done, on their home page, and are the list e-mails will be sent from.
    assert client.post(f"/api/v1/agencies/{ours}/mandates/{mandate_id}/reminders", headers=coordinator).json() == {"reminded": 2}
    assert client.post(f"/api/v1/agencies/{ours}/mandates/{mandate_id}/reminders", headers=coordinator).json() == {"reminded": 2}
    reminders = session.exec(select(Reminder)).all()
    assert len(reminders) == 2 and {r.times for r in reminders} == {2} and all(r.emailed_at is None for r in reminders)
    askar = user(session, next(a["username"] for a in added["accounts"] if a["name"] == "Асқар Төлеуов"))
    mine = service.my_mandates(session, askar, now=after)
    assert [(m.course.slug, m.state.value) for m in mine] == [("civil-course", "overdue")] and mine[0].reminder.times == 2
    dana_sees = client.get("/api/v1/me/mandates", headers=dana).json()
    assert [(m["course"], m["state"]) for m in dana_sees] == [("civil-course", "done")]


def test_the_report_page_and_csv_in_kazakh_and_russian(client, session, civil_course, agencies, coordinator):
    ours, _ = agencies
    client.post(f"/api/v1/agencies/{ours}/mandates", headers=coordinator,
                json={"course": "civil-course", "deadline": (date.today() + timedelta(days=3)).isoformat()})
    add_staff(client, coordinator, ours, STAFF.replace(b"dana", b""), dry_run=False)
    sign_in(client, "hr-officer")
    mandate_id = client.get(f"/api/v1/agencies/{ours}/mandates", headers=coordinator).json()[0]["id"]
    for lang in ("kk", "ru"):
        page = client.get(f"/{lang}/agencies/{ours}/mandates/{mandate_id}")
        assert page.status_code == 200
        assert gettext(lang, "%(done)s of %(total)s employees have completed the course", done=0, total=3) in page.text
        assert "Заң департаменті" in page.text
        listing = client.get(f"/{lang}/agencies/{ours}")
        assert listing.status_code == 200 and gettext(lang, "Mandatory courses") in listing.text
        exported = client.get(f"/{lang}/agencies/{ours}/mandates/{mandate_id}/report.csv")
        assert exported.headers["content-type"].startswith("text/csv") and gettext(lang, "Department") in exported.text


def test_bad_staff_files_say_why_in_the_users_language_and_change_nothing(client, session, civil_course, agencies,
                                                                           admin, coordinator):
    ours, theirs = agencies
    # Someone on the staff of another agency cannot be taken by this one.
    api_token(client, "finance-person", **CIVIL)
    session.add(Employee(institution_id=theirs, user_id=user(session, "finance-person").id, department="Бюджет",
                         confirmed_at=datetime.now(UTC)))
    session.commit()
    refused = add_staff(client, coordinator, ours, "ФИО;Подразделение;Логин\nА Б;Отдел;finance-person\n".encode(), True)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["message"] == gettext(
        "ru", "This person is on the staff of another agency (%(agency)s): only that agency can change it.",
        agency="Қаржы министрлігі")
    no_department = add_staff(client, coordinator, ours, "ФИО;Подразделение\nМария Ким;\n".encode("cp1251"), False)
    assert no_department.status_code == 422
    assert no_department.json()["errors"] == [{"line": 2, "column": "department",
                                               "message": gettext("ru", "Write the person's department.")}]
    assert session.exec(select(Employee).where(Employee.institution_id == ours)).all() == []
    assert session.exec(select(FirstTimeCode)).all() == []

    past = client.post(f"/api/v1/agencies/{ours}/mandates", headers=coordinator,
                       json={"course": "civil-course", "deadline": date.today().isoformat()})
    assert past.status_code == 422
    # The page keeps what was typed and says why, in Kazakh.
    csrf = sign_in(client, "hr-officer")
    page = client.post(f"/kk/agencies/{ours}/mandates", data={"csrf_token": csrf, "course": "civil-course",
                                                             "deadline": "2020-01-01"})
    assert page.status_code == 422 and gettext("kk", "The deadline must be a day after today.") in page.text
    assert 'value="2020-01-01"' in page.text


def test_only_its_coordinators_and_admins_see_an_agency(client, session, civil_course, agencies, admin, coordinator):
    ours, theirs = agencies
    client.post(f"/api/v1/agencies/{ours}/mandates", headers=coordinator,
                json={"course": "civil-course", "deadline": (date.today() + timedelta(days=3)).isoformat()})
    mandate_id = client.get(f"/api/v1/agencies/{ours}/mandates", headers=coordinator).json()[0]["id"]
    other = api_token(client, "other-hr", **CIVIL)
    client.post(f"/api/v1/institutions/{theirs}/coordinators", headers=admin, json={"username": "other-hr"})
    stranger = api_token(client, "stranger")
    for headers, status in ((coordinator, 200), (admin, 200), (other, 404), (stranger, 404)):
        assert client.get(f"/api/v1/agencies/{ours}/mandates/{mandate_id}/report", headers=headers).status_code == status
        assert client.post(f"/api/v1/agencies/{ours}/mandates/{mandate_id}/reminders",
                           headers=headers).status_code == status
    assert client.get(f"/api/v1/agencies/{theirs}/mandates/{mandate_id}/report", headers=other).status_code == 404
    # Only admins appoint coordinators.
    assert client.post(f"/api/v1/institutions/{ours}/coordinators", headers=coordinator,
                       json={"username": "stranger"}).status_code == 403
