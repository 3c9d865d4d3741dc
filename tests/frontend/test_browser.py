"""A learner's first visit, end to end in Debian's Chromium, and axe-core on the main pages."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser import audit, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def register_in_kazakh(page, base: str, username: str = "әсел", role: str = "learner") -> None:
    page.goto(f"{base}/kk/register")
    page.get_by_label("Пайдаланушы аты").fill(username)
    page.get_by_label("Құпиясөз").fill("өте-құпия-сөз")
    page.get_by_label("Аты-жөніңіз").fill("Әсел Құрманғазықызы")
    page.locator("#region").select_option("kyzylorda")
    if role == "learner":
        page.locator("#category").select_option("school_student")
        page.locator("#school_grade").fill("8")
    else:
        page.locator("#category").select_option("adult")
        page.locator("#role").select_option(role)
    page.get_by_role("button", name="Аккаунт ашу").click()
    page.wait_for_url(f"{base}/kk/courses")


def test_learner_registers_in_kazakh_reads_passes_a_quiz_and_sees_progress(page, live_server):
    base = live_server
    register_in_kazakh(page, base)
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    page.get_by_role("link", name="Сынақ курсы: ғылым мен өнер").first.click()
    page.get_by_role("button", name=re.compile("Курсты бастау")).click()
    page.wait_for_url(re.compile(r"/kk/courses/test-course/lessons/first-steps$"))
    screenshot(page, "kk-lesson")
    page.get_by_role("button", name="Сабақты оқып шықтым").click()
    status = page.locator("#lesson-status .progress")
    expect(status).to_have_attribute("value", "16")  # updated in place by htmx
    assert page.url.endswith("/lessons/first-steps")
    page.get_by_role("link", name="Келесі сабақ").click()
    page.get_by_role("button", name="Сабақты оқып шықтым").click()
    page.get_by_role("link", name="Модуль тестін тапсыру").click()
    page.wait_for_url(re.compile(r"/quizzes/basics-quiz$"))
    # Options are shuffled and named by tokens of the attempt: a learner finds them by their texts.
    page.get_by_label("A-kk", exact=True).check()
    page.get_by_label("A", exact=True).check()
    page.get_by_label("B", exact=True).check()
    page.get_by_label("Қате", exact=True).check()
    page.locator("#q-how-many").fill("60")
    for position, item in enumerate(["Collect", "Train", "Check"], start=1):
        page.get_by_label(item, exact=True).select_option(str(position))
    screenshot(page, "kk-quiz")
    page.get_by_role("button", name="Жауаптарымды тексеру").click()
    result = page.locator("#quiz-result")
    expect(result).to_contain_text("100%")
    expect(page.locator("#quiz-result .progress")).to_have_attribute("value", "50")  # 3 of 6 steps
    screenshot(page, "kk-quiz-result")
    page.goto(f"{base}/kk/courses/test-course")
    expect(page.locator("#course-progress .progress")).to_have_attribute("value", "50")
    screenshot(page, "kk-course-progress")


def test_language_switch_keeps_the_page_and_updates_lang(page, live_server):
    page.goto(f"{live_server}/kk/courses/test-course/lessons/first-steps")
    page.get_by_role("link", name="Русский").click()
    page.wait_for_url(re.compile(r"/ru/courses/test-course/lessons/first-steps$"))
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("h1")).to_have_text("Первые шаги")


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_main_pages_have_no_serious_accessibility_violations(page, live_server, lang):
    refused = []  # what the Content-Security-Policy blocked: every script and style must be a file of ours
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    register_in_kazakh(page, live_server, f"axe-{lang}")
    found = {}
    pages = {
        "catalogue": f"/{lang}/courses",
        "course": f"/{lang}/courses/test-course",
        "lesson": f"/{lang}/courses/test-course/lessons/first-steps",
        "quiz": f"/{lang}/courses/test-course/quizzes/basics-quiz",
        "account": f"/{lang}/account",
        "register": f"/{lang}/register",
    }
    for name, path in pages.items():
        page.goto(live_server + path)
        audit(page, lang, name, found)
    assert found == {}
    assert refused == []


def test_quiz_errors_keep_answers_in_the_browser(page, live_server):
    register_in_kazakh(page, live_server, "қате")
    page.goto(f"{live_server}/ru/courses/test-course/quizzes/basics-quiz")
    page.get_by_label("A-ru", exact=True).check()
    page.locator("#q-how-many").fill("шестьдесят")
    page.get_by_role("button", name=re.compile("Проверить")).click()
    expect(page.locator("#q-how-many-error")).to_be_visible()
    expect(page.get_by_label("A-ru", exact=True)).to_be_checked()
    expect(page.locator("#q-how-many")).to_have_value("шестьдесят")
    screenshot(page, "ru-quiz-errors")


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_teacher_pages_have_no_serious_accessibility_violations(page, live_server, session, lang):
    from gennation.platform.accounts.models import Role
    from gennation.platform.accounts.service import set_role
    register_in_kazakh(page, live_server, f"teacher-{lang}", role="teacher")
    set_role(session, f"teacher-{lang}", Role.admin)  # admins see every page a teacher sees, and more
    session.commit()
    page.goto(f"{live_server}/{lang}/classes")
    page.locator("#class-name").fill("7 «Ә»")
    page.locator("#class-name").press("Enter")
    expect(page.locator("code")).to_have_count(1)
    found = {}
    admin_pages = {"oversight": "tutor", "teachers": "teachers", "institutions": "institutions", "audit": "audit"}
    for name in ("classes", "class-tutor", *admin_pages):
        if name == "class-tutor":
            page.get_by_role("link", name=re.compile("Tutor conversations|Тьютормен|Беседы")).click()
            page.wait_for_url(re.compile(r"/classes/\d+/tutor$"))
        elif name in admin_pages:
            page.goto(f"{live_server}/{lang}/admin/{admin_pages[name]}")
        audit(page, lang, name, found)
    assert found == {}


def test_registration_finds_the_institution_as_you_type(page, live_server, session):
    from gennation.platform.institutions.models import Institution
    session.add(Institution(name="Қызылорда жоғары аграрлық-техникалық колледжі", kind="college", region="kyzylorda",
                            name_ru="Кызылординский высший аграрно-технический колледж"))
    session.commit()
    page.goto(f"{live_server}/kk/register")
    page.get_by_label("Пайдаланушы аты").fill("колледж-оқушысы")
    page.locator("#institution_q").fill("аграрлық")
    choice = page.get_by_label(re.compile("Қызылорда жоғары аграрлық-техникалық колледжі"))
    expect(choice).to_be_visible()  # found as you type (htmx), without leaving the page
    choice.check()
    expect(page.get_by_label("Пайдаланушы аты")).to_have_value("колледж-оқушысы")
    found = {}
    audit(page, "kk", "register-institution", found)
    assert found == {}
