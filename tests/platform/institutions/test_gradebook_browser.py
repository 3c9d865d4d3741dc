"""The gradebook and the learner's assignments in Chromium, in Kazakh and Russian: axe finds nothing
serious, and screenshots are kept in var/screenshots to look at."""
from datetime import UTC, datetime, timedelta

from tests.browser import audit, serve
from tests.conftest import REGISTRATION
from tests.platform.institutions.test_assignments import account, complete_basics


def sign_in(page, base: str, username: str, lang: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/{lang}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", REGISTRATION["password"])
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def test_the_gradebook_and_the_home_page_assignments_pass_axe_in_kazakh_and_russian(client, session, loaded, app,
                                                                                    page):
    teacher = account(client, "mugalim", teacher=True, session=session)
    room = client.post("/api/v1/classes", headers=teacher, json={"name": "9 «Б»", "group": "9 Б"}).json()
    due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    client.post(f"/api/v1/classes/{room['id']}/assignments", headers=teacher,
                json={"course": "test-course", "module": "basics", "due": due})
    client.post(f"/api/v1/classes/{room['id']}/assignments", headers=teacher,
                json={"course": "test-course", "quiz": "practice-quiz"})
    for name in ("okushy", "ekinshi"):
        learner = account(client, name)
        client.post("/api/v1/classes/join", headers=learner, json={"code": room["join_code"]})
    complete_basics(client, learner, loaded.quiz("basics-quiz"))
    found: dict = {}
    with serve(app) as base:
        for lang in ("kk", "ru"):
            sign_in(page, base, "mugalim", lang)
            page.goto(f"{base}/{lang}/classes/{room['id']}/gradebook")
            assert page.locator("table.gradebook tbody tr").count() == 2
            assert page.locator("table.gradebook thead th").count() == 6  # learner, activity, time, 2 assignments, remove
            audit(page, lang, "gradebook", found)
            sign_in(page, base, "ekinshi", lang)
            page.goto(f"{base}/{lang}/")
            assert page.locator(".assignments li").count() == 2
            audit(page, lang, "home-assignments", found)
    assert found == {}
