"""The class roster in Chromium, in Kazakh: the class page's upload, the check, the printed sheet, an
invitation and the first sign-in at /start pass axe, and the code from the sheet opens the account.
Screenshots are kept in var/screenshots to look at."""
from tests.browser import audit, screenshot, serve
from tests.platform.institutions.test_assignments import account
from tests.platform.institutions.test_gradebook_browser import sign_in

CLASS_LIST = "аты-жөні;username\nӘлия Нұрғалиқызы;\nЕрлан Серікұлы;\nАйгерім Қасымова;okushy\n"


def test_a_teacher_prints_codes_and_a_pupil_signs_in_at_start_in_kazakh(client, session, loaded, app, page):
    teacher = account(client, "mugalim", teacher=True, session=session)
    account(client, "okushy")
    room = client.post("/api/v1/classes", headers=teacher, json={"name": "5 «А»", "group": "5 А"}).json()
    found: dict = {}
    with serve(app) as base:
        sign_in(page, base, "mugalim", "kk")
        page.goto(f"{base}/kk/classes/{room['id']}/gradebook")
        audit(page, "kk", "class-roster-upload", found)
        page.set_input_files("#roster-file", files=[{"name": "5a.csv", "mimeType": "text/csv",
                                                     "buffer": CLASS_LIST.encode()}])
        page.click("form[action$='/roster/check'] button[type=submit]")
        page.wait_for_url("**/roster/check")
        audit(page, "kk", "class-roster-check", found)
        page.click("form[action$='/roster/import'] button[type=submit]")
        page.wait_for_url("**/roster/import")
        assert page.locator(".code-card").count() == 2
        assert page.locator("[data-print]").is_visible()  # the Print button appears where its script runs
        # The sheet is a document of its own (boosted navigation would drop its print style sheet).
        assert page.evaluate("getComputedStyle(document.querySelector('.code-cards')).listStyleType") == "none"
        audit(page, "kk", "class-roster-sheet", found)
        page.emulate_media(media="print")  # what the printer gets: the cards only
        assert not page.locator("h1").is_visible() and page.locator(".code-card").first.is_visible()
        screenshot(page, "kk-class-roster-sheet-print")
        page.emulate_media(media="screen")
        card = page.locator(".code-card").filter(has_text="Ерлан Серікұлы")
        username = card.locator("dd code").first.inner_text()
        code = card.locator(".code-card-code").inner_text()

        sign_in(page, base, "okushy", "kk")
        page.goto(f"{base}/kk/classes")
        audit(page, "kk", "class-invitation", found)

        page.context.clear_cookies()
        page.goto(f"{base}/kk/login")
        page.click("a[href='/kk/start']")
        page.wait_for_url("**/kk/start")
        audit(page, "kk", "start", found)
        page.fill("#username", username)
        page.fill("#code", code.lower())
        page.fill("#password", "my own secret 7")
        page.fill("#password2", "my own secret 8")
        page.click("form[action='/kk/start'] button[type=submit]")
        page.wait_for_selector("#password2-error")
        audit(page, "kk", "start-with-errors", found)
        page.fill("#password", "my own secret 7")
        page.fill("#password2", "my own secret 7")
        page.click("form[action='/kk/start'] button[type=submit]")
        page.wait_for_url(f"{base}/kk/")
        assert page.locator("form[action='/kk/logout']").count() == 1
    assert found == {}
