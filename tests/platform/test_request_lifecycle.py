"""How a request lives: one unit of work, a free event loop, errors mapped in one place, public pages
that caches can keep, and a burst that queues instead of failing."""
import asyncio
import base64
import gzip
import inspect
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import get_type_hints

import anyio.to_thread
import httpx
import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient
from fastapi.routing import APIRoute
from sqlalchemy import event
from sqlmodel import select, update

from gennation.courses import service as courses
from gennation.courses.models import CourseCompletion, QuizAttempt
from gennation.platform.accounts.models import SignIn, User
from gennation.platform import deps
from gennation.platform.deps import DbSession, PagePerson, UnitOfWorkRoute, get_session
from tests.browser import serve
from tests.conftest import api_token, csrf_of, register, run_async
from tests.courses.answering import api_answers
from tests.courses.test_service import PERFECT

LESSON = "/kk/courses/test-course/lessons/first-steps"


def _api_routes(routes):
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router
            yield from _api_routes(route.original_router.routes)


def _dependencies(dependant):
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependencies(sub)


def _takes_the_unit_of_work(route) -> bool:
    """Whether the route, as written, takes the request's unit of work (`DbSession`)."""
    endpoint = inspect.unwrap(route.endpoint)
    return DbSession in get_type_hints(endpoint, include_extras=True).values()


def test_no_async_route_uses_the_request_session(app):
    """Async routes wait (for the model, a queue, a stream): they must not hold a session while they do."""
    routes = list(_api_routes(app.router.routes))
    written_async = [r for r in routes if inspect.iscoroutinefunction(inspect.unwrap(r.endpoint))]
    assert {r.path for r in written_async} >= {"/api/v1/tutor/ask", "/{lang}/tutor/stream/{message_id}"}
    assert [r.path for r in written_async if _takes_the_unit_of_work(r) or get_session in _dependencies(r.dependant)] == []
    assert sum(_takes_the_unit_of_work(r) for r in routes) > 20  # the check can see sessions


def test_every_route_with_a_session_runs_in_one_trip_to_the_thread_pool(app):
    """Each router uses UnitOfWorkRoute (a new router that forgets it would cost every signed-in page a
    trip and a transaction more): no route is left to FastAPI's own session dependency."""
    routes = list(_api_routes(app.router.routes))
    with_session = [r for r in routes if _takes_the_unit_of_work(r)]
    assert len(with_session) > 20
    assert [r.path for r in with_session if not getattr(r, "runs_in_one_trip", False)] == []
    assert [r.path for r in routes if get_session in _dependencies(r.dependant)] == []


def test_a_signed_in_page_is_read_and_committed_in_the_thread_that_built_it(app, learner, monkeypatch):
    """The person, the page's queries and the commit: one thread, one transaction."""
    threads = {"person": set(), "route": set(), "commit": set()}
    built, looked_up = courses.learner_state, deps.signed_in

    def learner_state(*args, **kwargs):
        threads["route"].add(threading.get_ident())
        return built(*args, **kwargs)

    def signed_in(*args, **kwargs):
        threads["person"].add(threading.get_ident())
        return looked_up(*args, **kwargs)

    monkeypatch.setattr(courses, "learner_state", learner_state)
    monkeypatch.setattr(deps, "signed_in", signed_in)

    def on_commit(_connection):
        threads["commit"].add(threading.get_ident())

    event.listen(app.state.engine, "commit", on_commit)
    try:
        assert learner.get(LESSON).status_code == 200
    finally:
        event.remove(app.state.engine, "commit", on_commit)
    assert len(threads["route"]) == 1 and threads["person"] == threads["commit"] == threads["route"]


def test_a_signed_in_page_takes_one_trip_to_the_thread_pool(app, learner, monkeypatch):
    trips = []
    real = anyio.to_thread.run_sync

    async def counted(function, *args, **kwargs):
        trips.append(function)
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    page = learner.get(LESSON)
    assert page.status_code == 200 and "/kk/logout" in page.text  # signed in, and shown so
    assert len(trips) == 1


def test_a_route_without_a_person_parameter_still_knows_who_is_signed_in(app, learner):
    """Pages draw the menu from the person of the request, whether or not the route asked for them."""
    router = APIRouter(route_class=UnitOfWorkRoute, dependencies=[PagePerson])

    @router.get("/test-only/who")
    def who(request: Request, session: DbSession) -> dict:
        user = request.state.user
        return {"username": user.username if user else None}

    app.include_router(router)
    assert learner.get("/test-only/who").json() == {"username": "aliya"}
    assert TestClient(app).get("/test-only/who").json() == {"username": None}


def test_a_page_for_signed_in_people_sends_an_ended_sign_in_to_the_login_page(app, learner):
    """The person is read in the route's thread: an ended sign-in is refused there, and its cookie cleared."""
    assert learner.get("/kk/account").status_code == 200
    token = csrf_of(learner.get("/kk/account").text)
    ended = dict(learner.cookies)
    assert learner.post("/kk/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    stale = TestClient(app, cookies=ended)
    answer = stale.get("/kk/account", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/kk/login")
    assert "sid" not in _session_of(answer.cookies.get("gn_session", ""))


def _session_of(cookie: str) -> dict:
    payload = cookie.split(".", 1)[0]
    return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4))) if payload else {}


def test_a_route_that_raises_commits_nothing(app, session, learner, monkeypatch):
    """The route's own commit comes only after it returned; an exception leaves the rollback to the dependency."""
    def fail(session, user, course, lesson, state):
        user.display_name = "Өзгертілмеуі тиіс"
        session.add(user)
        session.flush()
        raise RuntimeError("injected after a write")

    monkeypatch.setattr(courses, "note_lesson_opened", fail)
    quiet = TestClient(app, raise_server_exceptions=False, cookies=learner.cookies)
    failed = quiet.get(LESSON)
    assert failed.status_code == 500
    assert "<html" in failed.text and "/kk/logout" in failed.text  # our error page, for the person signed in
    session.expire_all()
    assert "Өзгертілмеуі тиіс" not in [u.display_name for u in session.exec(select(User))]


def test_a_failure_between_grading_and_completion_leaves_neither(app, session, loaded, monkeypatch):
    client = TestClient(app, raise_server_exceptions=False)
    headers = api_token(client)
    for lesson in loaded.lessons:
        client.post(f"/api/v1/courses/test-course/lessons/{lesson.slug}/read", headers=headers)
    for quiz, answers in (("basics-quiz", PERFECT), ("practice-quiz", {"p1": "a", "p2": "true"})):
        attempt = client.post(f"/api/v1/courses/test-course/quizzes/{quiz}/attempts", headers=headers,
                              params={"lang": "ru"}).json()
        assert client.post(f"/api/v1/attempts/{attempt['attempt_id']}", headers=headers,
                           json=api_answers(attempt, loaded.quiz(quiz), "ru", answers)).json()["passed"]
    exam = client.post("/api/v1/courses/test-course/quizzes/final-exam/attempts", headers=headers).json()

    def crash(_session, _completion):
        raise RuntimeError("injected: the completion subscriber failed")

    monkeypatch.setattr(courses, "completion_hooks", [crash])
    exam_answers = api_answers(exam, loaded.quiz("final-exam"), "ru", {f"e{n}": "a" for n in range(1, 5)})
    response = client.post(f"/api/v1/attempts/{exam['attempt_id']}", headers=headers, json=exam_answers)
    assert response.status_code == 500 and "Traceback" not in response.text
    session.expire_all()
    assert session.get(QuizAttempt, exam["attempt_id"]).graded_at is None
    assert session.exec(select(CourseCompletion)).all() == []
    monkeypatch.setattr(courses, "completion_hooks", [])  # without the failure, both are kept
    graded = client.post(f"/api/v1/attempts/{exam['attempt_id']}", headers=headers, json=exam_answers)
    assert graded.status_code == 200
    assert len(session.exec(select(CourseCompletion)).all()) == 1


def test_anonymous_pages_set_no_cookie_and_answer_a_conditional_request_with_304(client):
    for path in ("/kk/courses", "/kk/courses/test-course", LESSON, "/ru/glossary", "/kk/"):
        first = client.get(path)
        assert first.status_code == 200 and "set-cookie" not in first.headers, path
        assert first.headers["cache-control"].startswith("public") and first.headers["etag"]
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", path
    kk, ru = client.get(LESSON), client.get(LESSON.replace("/kk/", "/ru/"))
    fragment = client.get(LESSON, headers={"HX-Request": "true"})
    assert len({kk.headers["etag"], ru.headers["etag"], fragment.headers["etag"]}) == 3


def test_signed_in_pages_stay_private(learner):
    response = learner.get(LESSON)
    assert response.headers["cache-control"] == "private, no-cache" and "etag" not in response.headers
    assert learner.get(LESSON, headers={"If-None-Match": "*"}).status_code == 200


def test_a_content_load_changes_the_etag(client, session, course_sources):
    before = client.get(LESSON).headers["etag"]
    course_sources[0].version = "a-new-version"
    courses.load_courses(session, course_sources)
    session.commit()
    after = client.get(LESSON)
    assert after.headers["etag"] != before
    assert client.get(LESSON, headers={"If-None-Match": before}).status_code == 200


def test_errors_reach_htmx_as_a_fragment_for_the_message_area(learner):
    missing = learner.get("/ru/courses/no-such-course", headers={"HX-Request": "true"})
    assert missing.status_code == 404 and "<html" not in missing.text and 'role="alert"' in missing.text
    assert missing.headers["hx-retarget"] == "#flash" and "Страница не найдена" in missing.text
    page = learner.get("/ru/courses/no-such-course")
    assert "<html" in page.text and page.status_code == 404
    api = learner.get("/api/v1/courses/no-such-course", params={"lang": "kk"})
    assert api.status_code == 404 and api.json()["detail"] == "Бұл бетті таба алмадық. Ол басқа мекенжайға көшкен болуы мүмкін немесе мекенжай қате терілген."


def test_a_burst_of_200_signed_in_requests_is_answered_in_full(app, loaded):
    """More concurrent requests than database slots and threads: they queue; none times out or fails."""
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as signer:  # argon2 on a busy machine: > 5 s
        register(signer, "burst")
        cookies = dict(signer.cookies)

        async def burst() -> list[int]:
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=120, limits=limits) as client:
                paths = [LESSON, "/kk/courses", "/kk/courses/test-course", "/kk/account"] * 50
                responses = await asyncio.gather(*(client.get(path) for path in paths))
                return [r.status_code for r in responses]

        statuses = run_async(burst())
    assert len(statuses) == 200 and set(statuses) == {200}


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_a_signed_in_person_switching_language_changes_their_account_language(learner, session, lang):
    learner.get(f"/{lang}/language", params={"next": f"/{lang}/courses"})
    from gennation.platform.accounts.models import User
    assert session.exec(select(User.language).where(User.username == "aliya")).one() == lang


def test_the_page_cache_sends_anonymous_pages_again_and_never_signed_in_ones(settings, loaded, session,
                                                                              course_sources):
    from gennation.platform.app import create_app
    settings.page_cache_seconds = 0.5
    app = create_app(settings)
    with TestClient(app) as client:
        first = client.get(LESSON, headers={"Accept-Encoding": "gzip"})
        course_sources[0].version = "changed-meanwhile"
        courses.load_courses(session, course_sources)
        session.commit()
        again = client.get(LESSON, headers={"Accept-Encoding": "gzip"})
        assert again.headers["etag"] == first.headers["etag"] and again.content == first.content  # from the cache
        assert client.get(LESSON, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
        register(client, "cached")
        signed = client.get(LESSON)
        assert signed.headers["cache-control"] == "private, no-cache"
        assert 'name="csrf_token"' in signed.text and 'name="csrf_token"' not in first.text  # not the cached page
        client.cookies.clear()
        time.sleep(0.6)
        assert client.get(LESSON).headers["etag"] != first.headers["etag"]  # the new content, once expired
    app.state.db.dispose()


def test_a_savepoint_that_opens_the_transaction_does_not_commit_it_early(app):
    """SQLite starts a transaction at a SAVEPOINT when none is open, and RELEASE would then commit it: the
    unit of work opens the transaction first, so a later failure still takes the savepoint's rows back."""
    from sqlalchemy import text
    db = app.state.db
    with db.unit_of_work() as session:
        session.exec(text("CREATE TABLE IF NOT EXISTS savepoint_probe (n INTEGER)"))
    with pytest.raises(RuntimeError), db.unit_of_work() as session:
        session.exec(text("SELECT count(*) FROM savepoint_probe")).one()  # a read: no transaction yet in pysqlite
        with session.begin_nested():
            session.exec(text("INSERT INTO savepoint_probe VALUES (1)"))
        raise RuntimeError("the request fails after the savepoint")
    with db.unit_of_work() as session:
        assert session.exec(text("SELECT count(*) FROM savepoint_probe")).one()[0] == 0
        session.exec(text("DROP TABLE savepoint_probe"))  # PostgreSQL's test database outlives the test


def test_pages_are_gzipped_in_the_standard_format(learner):
    """zlib-ng deflates the pages: what it sends is gzip that the standard library (any browser) reads."""
    plain = learner.get(LESSON, headers={"Accept-Encoding": "identity"})
    with learner.stream("GET", LESSON, headers={"Accept-Encoding": "gzip"}) as packed:
        assert packed.headers["content-encoding"] == "gzip"
        raw = b"".join(packed.iter_raw())
    assert "content-encoding" not in plain.headers and len(raw) < len(plain.content) / 2
    assert gzip.decompress(raw) == plain.content


def test_the_sign_ins_last_seen_is_committed_before_the_route_works(app, session, learner, monkeypatch):
    """The sign-in's bookkeeping is not held through the page: SQLite has one write lock for everyone."""
    old = datetime.now(UTC) - timedelta(hours=1)
    session.exec(update(SignIn).values(last_seen_at=old))
    session.commit()
    seen_by_others = []
    built = courses.learner_state

    def learner_state(*args, **kwargs):
        with app.state.db.unit_of_work() as other:  # another connection: sees only what is committed
            seen_by_others.extend(other.exec(select(SignIn.last_seen_at)).all())
        return built(*args, **kwargs)

    monkeypatch.setattr(courses, "learner_state", learner_state)
    assert learner.get(LESSON).status_code == 200
    assert seen_by_others and all(_aware(moment) > old + timedelta(minutes=59) for moment in seen_by_others)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_route_for_signed_in_people_refuses_nobody_before_reading_the_request(client):
    """401 (or the login page) before any 422: an anonymous caller learns nothing about the request's shape."""
    answer = client.put("/api/v1/me", json={"display_name": 12345678})
    assert answer.status_code == 401
    page = client.get("/kk/account", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/kk/login")


def test_an_error_before_the_route_still_shows_who_is_signed_in(learner):
    """A language that is not ours is refused before the route reads the person: the page still shows them."""
    missing = learner.get("/xx/courses")
    assert missing.status_code == 404 and "/kk/logout" in missing.text
