"""The national indicators at national size, on PostgreSQL.

Builds, in a database of its own, 1,000,000 learners across the 20 regions (bulk COPY, then ANALYZE):
school students by grade, teachers, civil servants on the staff of 20 agencies and adults; about 60 % of
them completed a course (some two) between 2024 and now, each completion with its certificate (2 % of
them revoked), and more enrolled without finishing; 1,500
universities and colleges, a third of them with an adopted course, the official population of every
region. Then it times a full rollup, the public dashboard through the app (anonymous, read from the
rollup only) and the open data CSV of every year.

Last line: RESULT learners=... dashboard_p95_ms=... rollup_s=... opendata_ms=...
Usage: python bench/indicators.py [--url postgresql://postgres@127.0.0.1:5432/bench_indicators] [--learners 1000000]
"""
from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gradebook import ROOT, fresh_database, p95_ms, timed  # noqa: E402 - the same helpers, one place

AGENCIES = 20
INSTITUTIONS = 1_500


def copy_rows(engine, table: str, columns: tuple[str, ...], rows) -> None:
    """PostgreSQL's COPY: the fastest bulk load, through psycopg's driver connection."""
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        raw.driver_connection.commit()
    finally:
        raw.close()


def build(app, learners: int, rng: random.Random) -> None:
    from gennation.courses.models import Course
    from gennation.platform.accounts.models import REGIONS
    from gennation.platform.metrics import service
    from gennation.platform.metrics.regions import ISO_CODES
    from sqlmodel import select

    now = datetime.now(UTC)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    span = (now - start).total_seconds()
    weights = [rng.uniform(0.3, 2.5) for _ in REGIONS]
    with app.state.db.session() as session:
        courses = [(c.id, c.hours, c.content_version) for c in session.exec(select(Course))]
        courses_by_slug = [(c.id, c.slug) for c in session.exec(select(Course))]
    kinds = ["university"] * 400 + ["college"] * (INSTITUTIONS - 400)
    institution_rows = [(i + 1, f"Мекеме {i + 1}", f"Организация {i + 1}", kind, rng.choices(REGIONS, weights)[0], "")
                        for i, kind in enumerate(kinds)]
    institution_rows += [(INSTITUTIONS + a + 1, f"Агенттік {a + 1}", f"Агентство {a + 1}", "state_body",
                          REGIONS[a % len(REGIONS)], "") for a in range(AGENCIES)]
    copy_rows(app.state.engine, "institution", ("id", "name", "name_ru", "kind", "region", "search_key"), institution_rows)
    copy_rows(app.state.engine, "adoption", ("institution_id", "course_slug", "programme", "since", "recorded_at"),
              ((i, "genai-for-everyone", "AI", date(2024 + i % 3, 9, 1), now) for i in range(1, INSTITUTIONS + 1, 3)))

    people, enrolments, completions, employees = [], [], [], []
    for user_id in range(1, learners + 1):
        region = rng.choices(REGIONS, weights)[0]
        draw = rng.random()
        category, role, grade, institution = "adult", "learner", None, None
        if draw < 0.40:
            category, grade = "school_student", rng.randint(5, 11)
        elif draw < 0.45:
            role = "teacher"
        elif draw < 0.55:
            category, role = "civil_servant", "civil_servant"
            employees.append((INSTITUTIONS + 1 + user_id % AGENCIES, user_id, "D", now, now))
        elif draw < 0.70:
            category, institution = rng.choice(["university_student", "tvet_student"]), rng.randint(1, INSTITUTIONS)
        people.append((user_id, f"u{user_id}", f"u{user_id}", "x", "Оқушы", role, region, category, grade,
                       institution, "kk", now))
        taken = rng.sample(courses, 2 if rng.random() < 0.15 else 1)
        for course_id, hours, version in taken:
            when = start + timedelta(seconds=rng.random() * span)
            done = rng.random() < 0.6
            enrolments.append((user_id, course_id, when, when + timedelta(days=9) if done else None))
            if done:
                completions.append((user_id, course_id, version, hours, min(when + timedelta(days=9), now)))
    copy_rows(app.state.engine, "user", ("id", "username", "username_skeleton", "password_hash", "display_name", "role", "region",
                            "category", "school_grade", "institution_id", "language", "created_at"), people)
    copy_rows(app.state.engine, "enrollment", ("user_id", "course_id", "enrolled_at", "completed_at"), enrolments)
    copy_rows(app.state.engine, "coursecompletion", ("user_id", "course_id", "content_version", "hours", "completed_at"), completions)
    copy_rows(app.state.engine, "employee", ("institution_id", "user_id", "department", "added_at", "confirmed_at"), employees)
    # Each completion's certificate (the "certified" indicators count valid ones); 2 % of them revoked.
    slugs = {course_id: slug for course_id, slug in courses_by_slug}
    alphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

    def code(number: int) -> str:
        letters = ""
        for _ in range(8):
            number, digit = divmod(number, len(alphabet))
            letters += alphabet[digit]
        return f"GN-{letters[:4]}-{letters[4:]}"

    title = '{"kk": "Курс", "ru": "Курс"}'
    copy_rows(app.state.engine, "certificate", (
        "public_id", "code", "source", "user_id", "holder_name", "kind", "course_slug", "title", "stage", "award",
        "hours", "issued_on", "language", "issuer", "revoked_at", "pdf_status", "created_at"),
        ((str(uuid.UUID(int=rng.getrandbits(128), version=4)), code(number), f"course-completion:{number}", user_id,
          "Оқушы", "course", slugs[course_id], title, "{}", "", hours, when.date(), "kk", title,
          when if rng.random() < 0.02 else None, "ready", when)
         for number, (user_id, course_id, _version, hours, when) in enumerate(completions, start=1)))
    with app.state.engine.connect() as conn:
        for table in ("user", "institution"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"))
        conn.commit()
    with app.state.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    figures = "\n".join(f"{year},{ISO_CODES[r]},{rng.randint(300_000, 2_500_000)},Bureau of National Statistics,{year}-02-01"
                        for year in range(2024, now.year + 1) for r in REGIONS)
    with app.state.db.unit_of_work() as session:
        checked = service.check_population(("year,region,population,source,source_date\n" + figures).encode())
        assert checked.clean, checked.errors[:3]
        service.load_population(session, checked)
    print(f"built {learners} learners, {len(completions)} completions (each with its certificate), "
          f"{len(enrolments)} enrolments", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/bench_indicators")
    parser.add_argument("--learners", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from gennation.courses.service import load_courses
    from gennation.courses.source import read_all
    from gennation.platform.app import create_app
    from gennation.platform.db_migrations import upgrade
    from gennation.platform.metrics import service
    from gennation.platform.settings import Settings

    var_dir = Path(tempfile.mkdtemp(prefix="bench-indicators-"))
    database = fresh_database(args.url)
    upgrade(database)
    settings = Settings(database_url=database, secret_key="bench-secret-" + "x" * 40, var_dir=var_dir,
                        tutor_model_path=var_dir / "no-model.gguf", page_cache_seconds=0).resolved()
    app = create_app(settings)
    courses, _glossary, _errors = read_all(ROOT / "courses" / "content")
    with app.state.db.unit_of_work() as session:
        load_courses(session, courses)
    started = time.perf_counter()
    build(app, args.learners, random.Random(11))
    print(f"load took {time.perf_counter() - started:.1f} s", file=sys.stderr)

    started = time.perf_counter()
    with app.state.db.unit_of_work() as session:
        rows = service.roll_up(session)
    rollup_s = time.perf_counter() - started
    print(f"rollup: {rows} rows in {rollup_s:.1f} s", file=sys.stderr)

    client = TestClient(app)
    year = datetime.now(UTC).year
    page = client.get(f"/kk/indicators?year={year}")
    assert page.status_code == 200 and page.text.count("<path d=") == 20, page.text[:300]
    dashboard = timed(client, f"/kk/indicators?year={year}", args.runs)
    dashboard += timed(client, f"/ru/indicators?year={year}", args.runs)
    open_data = []
    for _ in range(5):
        begin = time.perf_counter()
        response = client.get("/api/v1/open-data/indicators.csv")
        open_data.append(time.perf_counter() - begin)
        assert response.status_code == 200 and response.text.count("\n") > 100
    app.state.engine.dispose()
    print(f"RESULT learners={args.learners} dashboard_p95_ms={p95_ms(dashboard):.1f} rollup_s={rollup_s:.1f} "
          f"opendata_ms={statistics.median(open_data) * 1000:.0f}")


if __name__ == "__main__":
    main()
