"""The public dashboard in Chromium, in Kazakh and Russian: readable without JavaScript, axe finds nothing
serious, screenshots go to var/screenshots."""
import pytest

from gennation.platform.metrics import service
from tests.browser import audit, serve
from tests.platform.metrics.world import tournament_world
from tests.platform.metrics.test_indicators import world  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def test_the_dashboard_in_kazakh_and_russian_with_and_without_javascript(app, world, browser, session, settings):  # noqa: F811
    tournament_world(session, settings.var_dir)
    service.roll_up(session)
    session.commit()
    found: dict = {}
    with serve(app) as base:
        for javascript in (True, False):
            context = browser.new_context(viewport={"width": 1100, "height": 900}, java_script_enabled=javascript)
            page = context.new_page()
            for lang in ("kk", "ru"):
                page.goto(f"{base}/{lang}/indicators?year=2026")
                assert page.locator("svg[role=img]").count() >= 6
                assert page.locator("path").count() >= 20
                assert page.get_by_text("Тестовый сезон · Этап 1 · 5-8 классы" if lang == "ru" else
                                        "Сынақ маусымы · Кезең 1 · 5-8 сыныптар").count() == 1
                if javascript:
                    audit(page, lang, "indicators", found)
                else:
                    assert page.locator("table.report tbody tr").count() >= 20
            context.close()
    assert found == {}
