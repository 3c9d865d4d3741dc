"""Shared fixtures: databases (SQLite always, PostgreSQL and Redis when reachable), the app, a client.

Tests marked `services` use the real PostgreSQL and Redis. Locally they skip with the reason when the
services are not running; in CI (CI=true) a skipped `services` test fails the run.
"""
from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from gennation.courses.service import load_courses
from gennation.courses.source import ContentRules, read_all
from gennation.platform.app import create_app
from gennation.platform.database import make_engine
from gennation.platform.db_migrations import upgrade
from gennation.platform.settings import Settings
from gennation.platform.tables import metadata

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CONTENT = FIXTURES / "content"
# The fixture course is small: the engine is tested here, the real content in tests/courses/test_content.py.
RELAXED = ContentRules(lesson_words=(5, 900), min_quiz_questions=2, min_exam_bank=4)
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_skipped_services: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and "services" in report.keywords:
        _skipped_services.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if IN_CI and _skipped_services:
        print(f"\nCI needs PostgreSQL and Redis, but {len(_skipped_services)} services test(s) were skipped:")
        for nodeid in _skipped_services[:20]:
            print(f"  {nodeid}")
        session.exitstatus = 1


def _postgres_reachable() -> str | None:
    try:
        import psycopg
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - the reason is shown in the skip message
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"


def redis_or_skip() -> str:
    import redis
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}")
    return REDIS_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    reason = _postgres_reachable()
    if reason:
        pytest.skip(reason)
    engine = make_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    return POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def database_url(request, tmp_path, sqlite_template) -> str:
    """Each test that uses the database runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_migrated")
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret-key-" + "x" * 32, var_dir=tmp_path,
                    content_dir=FIXTURE_CONTENT, tutor_model_path=tmp_path / "no-model.gguf",
                    page_cache_seconds=0).resolved()


@pytest.fixture
def app(settings):
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def session(app):
    """A session for arranging and checking; services only flush, so a test commits what a client must see."""
    with app.state.db.session() as db:
        yield db


@pytest.fixture
def course_sources():
    courses, _glossary, errors = read_all(FIXTURE_CONTENT, RELAXED)
    assert errors == []
    return courses


@pytest.fixture
def loaded(session, course_sources):
    """The fixture course, loaded."""
    load_courses(session, course_sources)
    session.commit()
    from gennation.courses.service import get_course
    return get_course(session, "test-course")


@pytest.fixture
def client(app, loaded):
    with TestClient(app) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


REGISTRATION = {"password": "correct horse 42", "display_name": "Әлия Нұрғалиқызы", "region": "shymkent",
                "category": "school_student", "school_grade": "9", "role": "learner"}


def register(client: TestClient, username: str = "aliya", lang: str = "kk", **overrides) -> TestClient:
    """Register through the HTML form; the client stays signed in."""
    token = csrf_of(client.get(f"/{lang}/register").text)
    response = client.post(f"/{lang}/register", data={"csrf_token": token, "username": username, "language": lang,
                                                     **REGISTRATION, **overrides}, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    return client


def sign_in(client: TestClient, username: str, lang: str = "kk", password: str = REGISTRATION["password"]) -> str:
    """Sign in through the form (the client's earlier cookies dropped); returns a CSRF token of the new session."""
    client.cookies.clear()
    token = csrf_of(client.get(f"/{lang}/login").text)
    response = client.post(f"/{lang}/login", data={"csrf_token": token, "username": username, "password": password},
                           follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    return csrf_of(client.get(f"/{lang}/").text)


@pytest.fixture
def learner(client) -> TestClient:
    return register(client)


def api_token(client: TestClient, username: str = "api-user", **fields) -> dict:
    """Register through the API (fields override the defaults) and return the bearer header; the client's
    browser cookies are kept as they were."""
    kept = dict(client.cookies)
    client.cookies.clear()
    response = client.post("/api/v1/auth/register", json={"language": "ru", **REGISTRATION, **fields, "username": username})
    client.cookies.update(kept)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright (never a browser downloaded by a test tool)."""
    from tests.browser import CHROMIUM, LAUNCH_ARGS
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="kk-KZ")
    yield context.new_page()
    context.close()


def run_async(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API may hold this thread's event loop."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@contextmanager
def count_queries(engine) -> Iterator[list[str]]:
    """The SQL statements run on `engine` inside the block."""
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)
