"""The certificate pages in Debian's Chromium: axe-clean in both languages, and verification by code
works with JavaScript switched off."""
from datetime import date

import pytest
from sqlmodel import select

from gennation.certificates import service
from gennation.certificates.models import Certificate
from gennation.platform.accounts.models import Role, User
from tests.browser import audit, screenshot, serve
from tests.frontend.test_browser import register_in_kazakh

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(app, loaded):
    with serve(app) as base:
        yield base


def issued(session, username: str) -> Certificate:
    holder = session.exec(select(User).where(User.username == username)).one()
    certificate = service.issue(session, Certificate(
        source=f"test:{username}", user_id=holder.id, holder_name=holder.display_name, course_slug="test-course",
        title={"kk": "Мемлекеттік қызметшілерге арналған жасанды интеллект",
               "ru": "Искусственный интеллект для государственных служащих"},
        hours=8, issued_on=date(2026, 12, 2), language="kk", issuer=dict(service.ISSUER), public_id="", code=""))
    session.commit()
    return certificate


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_certificate_pages_have_no_serious_accessibility_violations(page, live_server, session, lang):
    register_in_kazakh(page, live_server, f"cert-{lang}")
    certificate = issued(session, f"cert-{lang}")
    holder = session.exec(select(User).where(User.username == f"cert-{lang}")).one()
    holder.role = Role.admin  # the verification page then shows the revocation form too
    session.add(holder)
    session.commit()
    found = {}
    for name, path in {"certificates": f"/{lang}/certificates", "verify": f"/{lang}/verify/{certificate.public_id}",
                       "verify-unknown": f"/{lang}/verify?code=GN-2222-2222"}.items():
        page.goto(live_server + path)
        audit(page, lang, name, found)
    assert found == {}


def test_a_code_typed_into_the_search_box_opens_the_certificate_without_javascript(browser, live_server, session, page):
    register_in_kazakh(page, live_server, "no-js-holder")
    certificate = issued(session, "no-js-holder")
    context = browser.new_context(java_script_enabled=False, locale="ru-RU")
    visitor = context.new_page()
    visitor.goto(f"{live_server}/verify")
    assert visitor.url.endswith("/ru/verify")
    visitor.locator("#verify-code").fill(certificate.code.lower())
    visitor.locator("#verify-code").press("Enter")
    visitor.wait_for_url(f"{live_server}/ru/verify/{certificate.public_id}")
    assert "Сертификат действителен" in visitor.content() and "Әсел Құрманғазықызы" in visitor.content()
    screenshot(visitor, "ru-verify-no-js")
    context.close()


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_batch_diploma_and_withdrawn_pages_have_no_serious_accessibility_violations(page, live_server, session, lang):
    from gennation.certificates.models import CertificateBatch, WithdrawnCertificate
    register_in_kazakh(page, live_server, f"batch-{lang}")
    holder = session.exec(select(User).where(User.username == f"batch-{lang}")).one()
    holder.role = Role.admin
    session.add(holder)
    diploma = service.issue_diploma(session, holder, 5, {"kk": "Облыстық кезең", "ru": "Областной этап"},
                                    {"kk": "«Генеративті Ұлт» турнирі", "ru": "Турнир «Генеративная нация»"},
                                    "prize_winner", 2, 80.0)
    titles = {"stage_title": diploma.stage, "season_title": diploma.title}
    working = CertificateBatch(kind="stage", target=5, status="running", total=40, done=12, params=titles,
                               heartbeat_at=diploma.created_at)
    done = CertificateBatch(kind="stage", target=6, status="done", total=40, done=40, params=titles)
    session.add_all([working, done, WithdrawnCertificate(id=99_000, public_id="0b0e5a64-7a43-4d39-9a3e-0f4a3c2b1d0e",
                                                         code="GN-2345-6789")])
    session.commit()
    found = {}
    for name, path in {"batch-working": f"/{lang}/admin/certificates/batches/{working.id}",
                       "batch-done": f"/{lang}/admin/certificates/batches/{done.id}",
                       "diploma": f"/{lang}/verify/{diploma.public_id}",
                       "withdrawn": f"/{lang}/verify/0b0e5a64-7a43-4d39-9a3e-0f4a3c2b1d0e"}.items():
        page.goto(live_server + path)
        audit(page, lang, name, found)
    assert found == {}
