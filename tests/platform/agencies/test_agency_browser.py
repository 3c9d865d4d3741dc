"""The agency's pages in Chromium, in Kazakh and Russian: the coordinator uploads the staff file through
the page (dry run, then import and the code cards), reads the report; an employee sees the mandatory
course and the reminder on the home page. axe finds nothing serious; screenshots go to var/screenshots."""
from datetime import date, timedelta

from tests.browser import audit, serve
from tests.conftest import api_token
from tests.platform.agencies.test_agency import CIVIL, add_staff
from tests.platform.institutions.test_gradebook_browser import sign_in

STAFF = "ФИО;Подразделение\nАсқар Төлеуов;Цифрландыру басқармасы\nМария Ким;Заң департаменті\n"


def test_the_coordinators_pages_and_the_employees_reminder_in_kazakh_and_russian(client, session, civil_course, app,
                                                                               agencies, coordinator, page, tmp_path):
    ours, _ = agencies
    client.post(f"/api/v1/agencies/{ours}/mandates", headers=coordinator,
                json={"course": "civil-course", "deadline": (date.today() + timedelta(days=14)).isoformat()})
    mandate_id = client.get(f"/api/v1/agencies/{ours}/mandates", headers=coordinator).json()[0]["id"]
    employee = api_token(client, "qyzmetker", **CIVIL)
    add_staff(client, coordinator, ours, "ФИО;Подразделение;Логин\nҚызметкер;Бюджет бөлімі;qyzmetker\n".encode(), False)
    invitation = client.get("/api/v1/me/agency-invitations", headers=employee).json()[0]
    client.post(f"/api/v1/me/agency-invitations/{invitation['id']}", headers=employee, json={"accept": True})
    client.post(f"/api/v1/agencies/{ours}/mandates/{mandate_id}/reminders", headers=coordinator)
    staff_file = tmp_path / "staff.csv"
    found: dict = {}
    with serve(app) as base:
        for lang in ("kk", "ru"):
            sign_in(page, base, "hr-officer", lang)
            page.goto(f"{base}/{lang}/agencies/{ours}")
            audit(page, lang, "agency", found)
            staff_file.write_text(STAFF.replace("Мария Ким", f"Мария Ким {lang}"), encoding="utf-8")
            page.set_input_files("#staff-file", str(staff_file))
            page.click("form[action$='/staff/check'] button[type=submit]")
            page.wait_for_selector("#check-title")
            audit(page, lang, "agency-staff-checked", found)
            page.click("form[action$='/staff/import'] button[type=submit]")
            page.wait_for_selector(".code-card")
            assert page.locator(".code-card").count() == 2 - (lang == "ru")  # Асқар was added in kk already
            audit(page, lang, "agency-codes", found)
            page.goto(f"{base}/{lang}/agencies/{ours}/mandates/{mandate_id}")
            assert page.locator("#report-total").count() == 1
            audit(page, lang, "agency-report", found)
            page.goto(f"{base}/{lang}/agencies/{ours}/mandates/{mandate_id}/certificates")
            audit(page, lang, "agency-certificates", found)
            sign_in(page, base, "qyzmetker", lang)
            page.goto(f"{base}/{lang}/")
            assert page.locator("#my-mandates").count() == 1
            audit(page, lang, "home-mandatory", found)
    assert found == {}
