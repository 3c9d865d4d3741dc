"""Security headers, no inline code, the API documentation's own files, and the request body limit."""
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from gennation.platform.app import create_app
from tests.conftest import csrf_of

PAGES = ["/kk/", "/ru/courses", "/kk/courses/test-course", "/kk/courses/test-course/lessons/first-steps",
         "/kk/courses/test-course/quizzes/basics-quiz", "/kk/account", "/ru/tutor", "/kk/classes"]


class InlineCode(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' would refuse."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on") or name.startswith("hx-on"):
                self.found.append(f"{tag} {name}=")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}=javascript:")


def test_every_response_carries_the_security_headers(learner):
    for path in ("/kk/courses", "/api/v1/courses", "/healthz/live", "/kk/no-such-page", "/static/site.css"):
        headers = learner.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "unsafe-inline" not in headers["content-security-policy"], path
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert headers["x-frame-options"] == "DENY", path
        assert "strict-transport-security" not in headers, path  # plain HTTP here: HSTS would lock people out


def test_hsts_is_sent_when_the_site_is_served_over_https(settings, loaded):
    settings.secure_cookies = True
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        assert client.get("/kk/courses").headers["strict-transport-security"].startswith("max-age=31536000")


def test_no_page_has_inline_scripts_styles_or_handlers(learner):
    for path in PAGES:
        response = learner.get(path)
        assert response.status_code == 200, path
        parser = InlineCode()
        parser.feed(response.text)
        assert parser.found == [], path


def test_api_docs_come_from_the_projects_own_files_and_can_be_switched_off(client, settings, loaded):
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert 'src="/static/vendor/swagger-ui-bundle.js' in docs.text and "https://" not in docs.text
    assert client.get("/static/vendor/swagger-ui-bundle.js").status_code == 200
    settings.api_docs = False
    with TestClient(create_app(settings)) as production:
        assert production.get("/api/docs").status_code == 404


@pytest.mark.parametrize("lang, words", [("kk", "тым үлкен"), ("ru", "слишком большие")])
def test_a_body_over_the_limit_is_refused_in_the_persons_language(client, lang, words):
    huge = "x" * 1_100_000
    api = client.post(f"/api/v1/auth/login?lang={lang}", json={"username": huge, "password": "x"})
    assert api.status_code == 413 and words in api.json()["detail"]
    streamed = client.post(f"/api/v1/auth/login?lang={lang}", content=iter([b"{" + b" " * 600_000] * 2),
                           headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413  # no Content-Length: counted as it arrives
    page = client.post(f"/{lang}/login", data={"username": huge, "password": "x"})
    assert page.status_code == 413 and words in page.text


def test_a_form_with_files_may_be_larger_than_other_bodies_up_to_its_own_limit(settings):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from gennation.platform.middleware import BodyGuard

    async def read(request: Request):
        return PlainTextResponse(str(len(await request.body())))

    guarded = BodyGuard(Starlette(routes=[Route("/", read, methods=["POST"])]), max_bytes=1000, max_upload_bytes=5000)
    with TestClient(guarded, raise_server_exceptions=False) as client:
        assert client.post("/", files={"file": ("a.csv", b"x" * 3000)}).status_code == 200  # an upload: up to 5000
        assert client.post("/", data={"text": "x" * 3000}).status_code == 413  # a plain form: 1000
        assert client.post("/", files={"file": ("a.csv", b"x" * 6000)}).status_code == 413


def test_a_crowd_signing_in_beyond_the_cores_is_told_to_retry_not_left_waiting(client, monkeypatch):
    import threading

    from gennation.platform import security
    monkeypatch.setattr(security, "_password_cores", threading.BoundedSemaphore(1))
    monkeypatch.setattr(security, "PASSWORD_WAIT", 0.2)
    form = {"username": "anyone", "password": "whatever it is", "csrf_token": csrf_of(client.get("/ru/login").text)}
    security._password_cores.acquire()  # the one core is hashing someone else's password
    try:
        answer = client.post("/api/v1/auth/login?lang=kk", json={"username": "anyone", "password": "whatever it is"})
        page = client.post("/ru/login", data=form)
    finally:
        security._password_cores.release()
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert "көп адам кіріп жатыр" in answer.json()["detail"]
    assert page.status_code == 503 and "очень много людей" in page.text
    again = client.post("/api/v1/auth/login?lang=kk", json={"username": "anyone", "password": "whatever it is"})
    assert again.status_code == 401  # the core is free again: an ordinary wrong-password answer
