"""A participant's path through the sample season in Debian's Chromium, in Kazakh and in Russian: register,
register for a category, open the qualifier, download the data, send a bad file (rejected with its rows
named), send a good one (scored, on the leaderboard), take the quiz; every page checked by axe-core."""
import re

import pytest
from playwright.sync_api import expect

from gennation.tournament import sample_season, service
from tests.browser import audit, serve

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

WORDS = {
    "kk": {"create": "Аккаунт ашу", "register": "Тіркелу", "send": "Жіберу", "start": "Викторинаны бастау",
           "finish": "Аяқтап, нәтижені көру", "scored": "Бағаланды", "rejected": "Қабылданбады"},
    "ru": {"create": "Создать аккаунт", "register": "Зарегистрироваться", "send": "Отправить",
           "start": "Начать викторину", "finish": "Завершить и увидеть результат", "scored": "проверено",
           "rejected": "не принято"},
}


@pytest.fixture
def sample_server(app, session, settings):
    sample_season.load(session, settings.var_dir)
    session.commit()
    with serve(app) as base:
        yield base


def _register(page, base, lang, username, name):
    page.goto(f"{base}/{lang}/register")
    page.locator("#username").fill(username)
    page.locator("#password").fill("өте-құпия-сөз")
    page.locator("#display_name").fill(name)
    page.locator("#region").select_option("turkistan")
    page.locator("#category").select_option("school_student")
    page.locator("#school_grade").fill("7")
    page.get_by_role("button", name=WORDS[lang]["create"]).click()
    page.wait_for_url(f"{base}/{lang}/courses")


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_a_pupil_takes_part_in_the_qualifier_from_the_browser(page, sample_server, session, lang, tmp_path):
    base, words, found = sample_server, WORDS[lang], {}
    _register(page, base, lang, f"қатысушы-{lang}", "Айгерім Сәрсенбаева" if lang == "kk" else "Ольга Ким")
    page.goto(f"{base}/{lang}/tournament")
    audit(page, lang, "tournament-home", found)
    page.get_by_label(re.compile("5-8")).check()
    page.get_by_role("button", name=words["register"], exact=True).click()
    expect(page.locator("input[name=category]")).to_have_count(0)  # registered: the choice is gone
    expect(page.locator("main")).to_contain_text("5-8")
    page.get_by_role("link", name=re.compile("онлайн")).first.click()
    page.wait_for_url(re.compile(r"/tournament/stages/\d+$"))
    audit(page, lang, "tournament-stage", found)

    page.locator("main ul li a").first.click()  # the practical task (grades 5-8: will the bus be late?)
    page.wait_for_url(re.compile(r"/tournament/tasks/[\w-]+$"))
    task = service.task_by_public_id(session, page.url.rsplit("/", 1)[1])
    header = f"{task.id_column},{task.target_column}"
    expect(page.locator("main")).to_contain_text(task.target_column)  # the page names the columns to send
    audit(page, lang, "tournament-task", found)
    with page.expect_download() as download:
        page.locator("a[href$='/files/test.csv']").click()
    test_ids = [row.split(",")[0] for row in download.value.path().read_text(encoding="utf-8").splitlines()[1:]]

    bad = tmp_path / "bad.csv"
    bad.write_text(f"{header}\n{test_ids[0]},\n", encoding="utf-8")  # an empty value, and every other row missing
    page.locator("#file").set_input_files(str(bad))
    page.get_by_role("button", name=words["send"], exact=True).click()
    rejected = page.locator("#entries tbody tr").first
    expect(rejected).to_contain_text(words["rejected"], ignore_case=True)
    expect(rejected.locator("ul.errors li").first).to_contain_text("2")  # names the line
    audit(page, lang, "tournament-entry-rejected", found)

    good = tmp_path / "good.csv"  # one class for every row: valid, if not clever
    good.write_text("\n".join([header] + [f"{row_id},{task.classes[0]}" for row_id in test_ids]) + "\n", encoding="utf-8")
    page.locator("#file").set_input_files(str(good))
    page.get_by_role("button", name=words["send"], exact=True).click()
    newest = page.locator("#entries tbody tr").first
    expect(newest).to_contain_text(words["scored"], ignore_case=True, timeout=20_000)  # embedded mode scores at once
    audit(page, lang, "tournament-entry-scored", found)

    page.locator("main p.meta a").first.click()
    page.wait_for_url(re.compile(r"/tournament/stages/\d+$"))
    expect(page.locator("#leaderboard")).to_contain_text("Айгерім С." if lang == "kk" else "Ольга К.")
    audit(page, lang, "tournament-leaderboard", found)

    page.locator("main ul li a").nth(1).click()  # the quiz
    page.get_by_role("button", name=words["start"]).click()
    page.wait_for_url(re.compile(r"/tournament/quiz/[\w-]+$"))
    page.locator("fieldset input[type=radio]").first.check()
    expect(page.locator("#saved")).not_to_be_empty()  # saved on change, before finishing
    audit(page, lang, "tournament-quiz", found)
    page.get_by_role("button", name=words["finish"]).click()
    expect(page.locator("p.result")).to_contain_text("%")
    audit(page, lang, "tournament-quiz-result", found)
    assert found == {}



@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_an_organiser_runs_the_console_from_the_browser(page, sample_server, session, lang):
    from gennation.platform.accounts.models import Role
    from gennation.platform.accounts.service import set_role
    base, found = sample_server, {}
    _register(page, base, lang, f"jury-{lang}", "Дәурен Оспанов")
    set_role(session, f"jury-{lang}", Role.organiser)
    session.commit()
    page.goto(f"{base}/{lang}/tournament/console")
    audit(page, lang, "tournament-console", found)
    page.locator("a[href$='/console/seasons/new']").click()
    page.wait_for_url(re.compile(r"/console/seasons/new$"))
    page.locator("#slug").fill("Көктем")  # not an address: refused, the rest kept
    page.locator("#title_kk").fill("Көктемгі маусым")
    page.locator("main button[type=submit]").click()
    expect(page.locator("#slug-error")).to_be_visible()
    expect(page.locator("#title_kk")).to_have_value("Көктемгі маусым")
    audit(page, lang, "tournament-console-form-errors", found)
    page.goto(f"{base}/{lang}/tournament/console")
    page.locator("a[href*='/console/stages/']").first.click()
    page.wait_for_url(re.compile(r"/console/stages/\d+$"))
    audit(page, lang, "tournament-console-stage", found)
    assert found == {}
