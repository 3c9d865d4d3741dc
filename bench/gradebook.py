"""A class gradebook and an agency's HR report at realistic size, on PostgreSQL.

Builds, in a database of its own, a class of 40 learners with four assignments and an agency of
20,000 employees in 30 departments whose progress in the civil-service course is spread as it would be
a month before the deadline (a third done, a quarter part-way, some failed final-exam attempts, the
rest not started). Then, signed in through the login form as the teacher and as the agency's
coordinator, it times the gradebook page, the report page and the report's CSV through the app, next
to a baseline in the same run (the bare health endpoint through the same client), and counts the SQL
statements of each page for a small world and the full one: they must not grow with the people.

Last line: RESULT class_gradebook_p95_ms=... agency_report_p95_ms=... agency_csv_s=... baseline_p95_ms=...
class_queries=... class_queries_4=... agency_queries=... agency_queries_300=...
Usage: python bench/gradebook.py [--url postgresql://postgres@127.0.0.1:5432/bench_gradebook] [--runs 30]
"""
from __future__ import annotations

import argparse
import gc
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import logging

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, insert, text

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 42"
DEPARTMENTS = 30


def fresh_database(url: str) -> str:
    """Drop and create the benchmark's own database; returns the SQLAlchemy URL of it."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def build(app, people: int, class_size: int, rng: random.Random) -> dict:
    """The class and the agency, written with bulk inserts (a realistic spread of progress)."""
    from gennation.courses.models import CourseCompletion, Enrollment, LessonProgress, QuizAttempt
    from gennation.courses.outline import catalogue
    from gennation.platform.accounts.models import Category, Role, User
    from gennation.platform.agencies.models import Employee, Mandate
    from gennation.platform.institutions.models import Assignment, ClassMember, Classroom, Coordinator, Institution
    from gennation.platform.security import hash_password

    now = datetime.now(UTC)
    hashed = hash_password(PASSWORD)
    with app.state.db.session() as session:
        known = catalogue(session)
        civil, school = known.course("ai-civil-service"), known.course("ai-basics-school")
        agency = Institution(name="Бенчмарк министрлігі", name_ru="Министерство бенчмарка", kind="state_body",
                             region="astana")
        session.add(agency)
        session.flush()

        def user(username, role=Role.learner, category=Category.school_student, **more):
            return {"username": username, "username_skeleton": username, "password_hash": hashed,
                    "display_name": f"Қызметкер {username}", "role": role, "region": "astana", "category": category,
                    "language": "kk", "created_at": now, **more}

        session.execute(insert(User), [user("teacher", Role.teacher, Category.adult, teacher_confirmed_at=now),
                                       user("hr", Role.civil_servant, Category.civil_servant, institution_id=agency.id)])
        ids = dict(session.execute(text("SELECT username, id FROM \"user\"")).all())
        classroom = Classroom(teacher_id=ids["teacher"], name="9 «А»", join_code="BENCH9", language="kk")
        session.add(classroom)
        session.add(Coordinator(institution_id=agency.id, user_id=ids["hr"]))
        mandate = Mandate(institution_id=agency.id, course_slug=civil.slug, deadline=now + timedelta(days=30))
        session.add(mandate)
        session.flush()
        modules = school.modules[:3]
        session.execute(insert(Assignment), [
            {"classroom_id": classroom.id, "course_slug": school.slug, "module_slug": m.slug, "quiz_slug": "",
             "due_at": now + timedelta(days=7 * i - 7), "created_at": now - timedelta(days=20)}
            for i, m in enumerate(modules)] + [
            {"classroom_id": classroom.id, "course_slug": school.slug, "module_slug": "", "quiz_slug": "",
             "due_at": now + timedelta(days=40), "created_at": now - timedelta(days=20)}])

        session.execute(insert(User), [user(f"p{i}") for i in range(class_size)] +
                        [user(f"e{i}", Role.civil_servant, Category.civil_servant, institution_id=agency.id)
                         for i in range(people)])
        ids = dict(session.execute(text("SELECT username, id FROM \"user\"")).all())
        joined = now - timedelta(days=25)
        session.execute(insert(ClassMember), [{"classroom_id": classroom.id, "user_id": ids[f"p{i}"], "joined_at": joined}
                                              for i in range(class_size)])
        reads, attempts, enrolments, completions = [], [], [], []
        for i in range(class_size):  # pupils: some ahead, some behind, a few stuck on a quiz
            uid = ids[f"p{i}"]
            done_modules = rng.choice([0, 1, 1, 2, 2, 3])
            enrolments.append({"user_id": uid, "course_id": school.id, "enrolled_at": joined})
            for m in school.modules[:done_modules + 1]:
                for lesson in m.lessons[: len(m.lessons) if m in school.modules[:done_modules] else 1]:
                    reads.append({"user_id": uid, "lesson_id": lesson.id, "read_at": joined + timedelta(days=rng.randint(1, 20)),
                                  "seconds": rng.randint(120, 900)})
            for m in school.modules[:done_modules]:
                for attempt in range(rng.choice([1, 1, 2, 4])):
                    passed = attempt == 0 or rng.random() < 0.5
                    attempts.append(_attempt(uid, m.quiz.id, joined + timedelta(days=rng.randint(1, 20)), passed, rng))
        for i in range(people):  # employees: a month before the deadline
            uid, roll = ids[f"e{i}"], rng.random()
            if roll < 0.60:
                enrolments.append({"user_id": uid, "course_id": civil.id, "enrolled_at": now - timedelta(days=20)})
            if roll < 0.35:
                when = now - timedelta(days=rng.randint(1, 19))
                score = rng.choice([75.0, 80.0, 85.0, 90.0, 95.0, 100.0])
                completions.append({"user_id": uid, "course_id": civil.id, "content_version": civil.content_version,
                                    "score": score, "hours": civil.hours, "completed_at": when})
                attempts.append(_attempt(uid, civil.final_exam.id, when, True, rng, score))
            if 0.30 < roll < 0.42:
                attempts.append(_attempt(uid, civil.final_exam.id, now - timedelta(days=rng.randint(1, 19)), False, rng))
        session.execute(insert(Employee), [
            {"institution_id": agency.id, "user_id": ids[f"e{i}"], "department": f"Департамент №{i % DEPARTMENTS + 1:02d}",
             "added_at": now - timedelta(days=30), "confirmed_at": now - timedelta(days=30)} for i in range(people)])
        for model, rows in ((LessonProgress, reads), (QuizAttempt, attempts), (Enrollment, enrolments),
                            (CourseCompletion, completions)):
            for start in range(0, len(rows), 5000):
                session.execute(insert(model), rows[start:start + 5000])
        session.commit()
        made = {"classroom": classroom.id, "agency": agency.id, "mandate": mandate.id}
    with app.state.engine.connect() as conn:  # what autovacuum would soon do after such a bulk load
        conn.execute(text("ANALYZE"))
        conn.commit()
    return made


def _attempt(user_id: int, quiz_id: int, when: datetime, passed: bool, rng: random.Random, score: float | None = None):
    score = score if score is not None else (rng.choice([70.0, 80.0, 90.0, 100.0]) if passed else rng.choice([20.0, 40.0, 50.0]))
    return {"user_id": user_id, "quiz_id": quiz_id, "question_ids": [], "layout": {}, "answers": {}, "results": {},
            "score": score, "passed": passed, "started_at": when - timedelta(minutes=rng.randint(3, 25)), "graded_at": when}


def signed_in(app, username: str) -> TestClient:
    client = TestClient(app)
    login = client.get("/kk/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    response = client.post("/kk/login", data={"csrf_token": token, "username": username, "password": PASSWORD},
                           follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    return client


def timed(client: TestClient, path: str, runs: int) -> list[float]:
    client.get(path)  # warm: the course outline is read once per content version
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return times


def p95_ms(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1] * 1000


def statements(app, client: TestClient, path: str) -> int:
    count = [0]

    def counted(*_args):
        count[0] += 1
    event.listen(app.state.engine, "before_cursor_execute", counted)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(app.state.engine, "before_cursor_execute", counted)
    return count[0]


def world(url: str, people: int, class_size: int, var_dir: Path):
    from gennation.courses.service import load_courses
    from gennation.courses.source import read_all
    from gennation.platform.app import create_app
    from gennation.platform.db_migrations import upgrade
    from gennation.platform.settings import Settings

    database = fresh_database(url)
    upgrade(database)
    settings = Settings(database_url=database, secret_key="bench-secret-" + "x" * 40, var_dir=var_dir,
                        tutor_model_path=var_dir / "no-model.gguf", page_cache_seconds=0).resolved()
    app = create_app(settings)
    courses, _glossary, errors = read_all(ROOT / "courses" / "content")
    if errors:
        print(f"warning: the content has {len(errors)} problems; benchmarking it as it is", file=sys.stderr)
    with app.state.db.session() as session:
        load_courses(session, courses)
        session.commit()
    ids = build(app, people, class_size, random.Random(7))
    return app, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/bench_gradebook")
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    var_dir = Path(tempfile.mkdtemp(prefix="bench-gradebook-"))

    counts = {}
    for people, class_size in ((300, 4), (args.people, 40)):  # the small world first: only its query counts are kept
        started = time.perf_counter()
        app, ids = world(args.url, people, class_size, var_dir)
        print(f"built {people} employees and a class of {class_size} in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        gradebook = f"/kk/classes/{ids['classroom']}/gradebook"
        report = f"/kk/agencies/{ids['agency']}/mandates/{ids['mandate']}"
        teacher, coordinator = signed_in(app, "teacher"), signed_in(app, "hr")
        # The bulk load's garbage is this script's, not a server's: collect it once and keep the collector off
        # the objects left, so that its pauses over them do not land in the timings.
        gc.collect()
        gc.freeze()
        counts[class_size] = (statements(app, teacher, gradebook), statements(app, coordinator, report))
    health = timed(teacher, "/healthz/live", args.runs)
    class_times = timed(teacher, gradebook, args.runs)
    report_times = timed(coordinator, report, args.runs)
    csv_times = []
    for _ in range(3):
        start = time.perf_counter()
        response = coordinator.get(report + "/report.csv")
        csv_times.append(time.perf_counter() - start)
        assert response.status_code == 200 and response.text.count("\n") == args.people + 1, response.text[:300]
    app.state.engine.dispose()
    print(f"medians: gradebook {statistics.median(class_times) * 1000:.1f} ms, report "
          f"{statistics.median(report_times) * 1000:.1f} ms, health {statistics.median(health) * 1000:.1f} ms",
          file=sys.stderr)
    print(f"RESULT class_gradebook_p95_ms={p95_ms(class_times):.1f} agency_report_p95_ms={p95_ms(report_times):.1f} "
          f"agency_csv_s={statistics.median(csv_times):.2f} baseline_p95_ms={p95_ms(health):.1f} "
          f"class_queries={counts[40][0]} class_queries_4={counts[4][0]} agency_queries={counts[40][1]} "
          f"agency_queries_300={counts[4][1]}")


if __name__ == "__main__":
    main()
