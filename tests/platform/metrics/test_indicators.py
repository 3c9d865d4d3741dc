"""The indicators against a hand-computed world of three regions (tests/platform/metrics/world.py), the
population file's dry run, the completion event, the public page, the API and open data."""
from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from gennation.platform.accounts.models import Role, User
from gennation.platform.metrics import service
from gennation.platform.metrics.models import IndicatorValue, PopulationFigure
from gennation.platform.metrics.regions import ISO_CODES
from tests.conftest import api_token
from tests.platform.metrics.world import NOW, build, population_csv, tournament_world
from tests.courses.answering import complete_test_course


def admin_headers(client, session, username="stat-admin") -> dict:
    headers = api_token(client, username)
    user = session.exec(select(User).where(User.username == username)).one()
    user.role = Role.admin
    session.add(user)
    session.commit()
    return headers


@pytest.fixture
def world(session, loaded):
    built = build(session)
    checked = service.check_population(population_csv().encode())
    assert checked.clean, checked.errors
    service.load_population(session, checked)
    service.roll_up(session, now=NOW)
    session.commit()
    return built


def figures(session, key, year=2026, public=False) -> service.Figures:
    board = service.dashboard(session, year, public=public)
    return next(f for f in board.indicators if f.indicator.key == key)


def region(f: service.Figures, name: str) -> service.Cell:
    return next(c for c in f.regions if c.region == name)


def test_the_indicators_match_the_hand_computed_world(session, world):
    aware = figures(session, "ai_awareness")
    assert (aware.national.numerator, aware.national.denominator, aware.national.percent) == (40, 19000, 0.2)
    assert [(c.numerator, c.denominator, c.percent) for c in (region(aware, r) for r in ("astana", "abai", "ulytau"))] \
        == [(12, 1200, 1.0), (25, 500, 5.0), (3, 300, 1.0)]
    assert aware.target == 30 and len(aware.regions) == 20
    assert region(figures(session, "ai_awareness", 2025), "astana").numerator == 2  # cumulative to the year's end

    programmes = figures(session, "institutions_ai_programmes")
    assert (programmes.national.numerator, programmes.national.denominator) == (2, 4)
    assert (region(programmes, "abai").numerator, region(programmes, "abai").denominator) == (2, 3)
    assert {c.breakdown: (c.numerator, c.denominator) for c in programmes.breakdowns} == {"university": (2, 2),
                                                                                         "college": (0, 2)}
    assert figures(session, "institutions_ai_programmes", 2025).national.numerator == 1  # only U1's adoption

    civil = figures(session, "civil_servants_trained")
    agency = next(c for c in civil.breakdowns if c.breakdown == str(world["agency"]))
    assert (agency.numerator, agency.denominator, agency.percent) == (2, 5, 40.0)  # the unconfirmed one not counted

    grades = {c.breakdown: c.numerator for c in figures(session, "school_students_certified").breakdowns}
    assert grades == {"9": 8, "10": 14, "11": 10}
    assert region(figures(session, "teachers_certified"), "astana").numerator == 2

    rate = figures(session, "course_completion_rate")
    national = next(c for c in rate.breakdowns if c.breakdown == "test-course")
    assert (national.numerator, national.denominator, national.percent) == (40, 47, 85.1)
    astana = next(c for c in rate.by_region_breakdown if c.region == "astana")
    assert (astana.numerator, astana.denominator, astana.percent) == (12, 19, 63.2)
    assert service.dashboard(session, 2026).missing == []


def test_certified_figures_count_valid_certificates_not_completions(session, world):
    """A revoked certificate, or a completion without one, certifies nobody; awareness still counts them."""
    from datetime import UTC, datetime

    from gennation.certificates.models import Certificate
    from gennation.platform.agencies.models import Employee

    def certificate_of(**where) -> Certificate:
        query = select(Certificate).join(User, User.id == Certificate.user_id)
        for key, value in where.items():
            query = query.where(getattr(User, key) == value)
        return session.exec(query.order_by(Certificate.id)).first()

    revoked = [certificate_of(role=Role.teacher, region="astana"), certificate_of(school_grade=9),
               session.exec(select(Certificate).join(Employee, Employee.user_id == Certificate.user_id)).first()]
    for certificate in revoked:
        certificate.revoked_at, certificate.revoked_reason = datetime(2026, 4, 1, tzinfo=UTC), "test"
        session.add(certificate)
    session.delete(certificate_of(school_grade=10))  # completed, never issued (or deleted): not certified
    session.flush()
    service.roll_up(session, now=NOW)
    session.commit()
    assert region(figures(session, "teachers_certified"), "astana").numerator == 1
    grades = {c.breakdown: c.numerator for c in figures(session, "school_students_certified").breakdowns}
    assert grades == {"9": 7, "10": 13, "11": 10}
    assert figures(session, "school_students_certified").national.numerator == 30
    civil = figures(session, "civil_servants_trained")
    agency = next(c for c in civil.breakdowns if c.breakdown == str(world["agency"]))
    assert (agency.numerator, agency.denominator) == (1, 5)
    assert figures(session, "ai_awareness").national.numerator == 40  # completions, as before


def test_the_public_figures_hide_every_count_below_ten_people(session, world):
    aware = figures(session, "ai_awareness", public=True)
    ulytau = region(aware, "ulytau")
    assert ulytau.suppressed and ulytau.numerator is None and ulytau.percent is None
    assert region(aware, "abai").numerator == 25 and aware.national.numerator == 40
    teachers = figures(session, "teachers_certified", public=True)
    assert region(teachers, "astana").suppressed  # 2 teachers
    civil = figures(session, "civil_servants_trained", public=True)
    assert all(c.suppressed for c in civil.breakdowns)  # 2 of 5: neither count nor share is shown


def test_the_rollup_is_what_the_page_reads_not_the_raw_rows(session, world, app):
    from tests.conftest import count_queries
    with count_queries(app.state.engine) as statements:
        service.dashboard(session, 2026)
    assert len(statements) == 2
    assert not any("coursecompletion" in s.lower() for s in statements)


def test_a_completion_moves_this_years_awareness_at_once(session, world, client, loaded):
    year = service.current_year()
    service.roll_up(session)  # this year's cells exist
    session.commit()
    before = session.exec(select(IndicatorValue).where(IndicatorValue.indicator == "ai_awareness",
                                                       IndicatorValue.year == year, IndicatorValue.region == "")).one().numerator
    headers = api_token(client, "new-completer")  # registers in Shymkent
    complete_test_course(client, loaded, headers)
    session.expire_all()
    after = {row.region: row.numerator for row in session.exec(select(IndicatorValue).where(
        IndicatorValue.indicator == "ai_awareness", IndicatorValue.year == year))}
    assert after[""] == before + 1 and after["shymkent"] == 1


# ---------------------------------------------------------------- the population file

def test_a_bad_population_file_lists_every_bad_row_and_changes_nothing(client, session, world):
    headers = admin_headers(client, session)
    lines = population_csv().splitlines()
    bad = "\n".join([lines[0], *[l for l in lines[1:] if ",KZ-62," not in l],  # Ulytau missing
                     lines[1],  # a duplicate of the first row
                     next(l for l in lines if ",KZ-10," in l).replace(",500,", ",-5,")]) + "\n"  # Abai again, negative
    response = client.post("/api/v1/indicators/population", headers=headers, params={"lang": "ru"},
                           json={"csv": bad})
    assert response.status_code == 422
    errors = response.json()["errors"]
    messages = " | ".join(f"{e['line']}:{e['column']}:{e['message']}" for e in errors)
    assert "KZ-62" in messages  # the missing region, named by its code
    assert sum("уже" in e["message"] for e in errors) == 2  # the duplicates, in Russian, by line
    assert any(e["column"] == "population" and "отрицательн" in e["message"] for e in errors)
    session.expire_all()
    assert session.exec(select(PopulationFigure).where(PopulationFigure.region == "abai")).one().population == 500
    assert len(session.exec(select(PopulationFigure)).all()) == 20


def test_a_clean_population_file_replaces_the_figures_and_the_shares_follow(client, session, world):
    headers = admin_headers(client, session)
    new = population_csv(source="Бюро национальной статистики", published="2026-07-01",
                         population={**{r: 1000 for r in ISO_CODES}, "abai": 250})
    assert client.post("/api/v1/indicators/population", headers=headers, json={"csv": new, "dry_run": True}).json() \
        == {"loaded": 0, "dry_run": True, "errors": []}
    assert client.post("/api/v1/indicators/population", headers=headers, json={"csv": new}).json()["loaded"] == 20
    session.expire_all()
    assert region(figures(session, "ai_awareness", service.current_year()), "abai").denominator == 250
    body = client.get("/api/v1/indicators", params={"year": service.current_year()}).json()
    aware = next(i for i in body["indicators"] if i["key"] == "ai_awareness")
    assert aware["denominator_sources"] == [{"source": "Бюро национальной статистики", "date": "2026-07-01",
                                             "year": 2026}]


def test_only_an_admin_loads_population(client, session, world):
    learner = api_token(client, "not-admin")
    assert client.post("/api/v1/indicators/population", headers=learner, json={"csv": population_csv()}).status_code == 403


def test_the_admin_page_checks_a_file_before_loading_it(client, session, world):
    from tests.conftest import csrf_of, register
    register(client, "page-admin")
    user = session.exec(select(User).where(User.username == "page-admin")).one()
    user.role = Role.admin
    session.add(user)
    session.commit()
    token = csrf_of(client.get("/kk/admin/indicators").text)
    bad = population_csv().replace(",KZ-10,500,", ",KZ-10,-1,")
    checked = client.post("/kk/admin/indicators/population/check", data={"csrf_token": token},
                          files={"file": ("pop.csv", bad.encode(), "text/csv")})
    assert checked.status_code == 422 and "Ештеңе жүктелмеді" in checked.text
    good = client.post("/kk/admin/indicators/population/check", data={"csrf_token": token},
                       files={"file": ("pop.csv", population_csv(published="2026-03-03").encode(), "text/csv")})
    assert good.status_code == 200
    upload = good.text.split('name="upload" value="', 1)[1].split('"', 1)[0]
    loaded = client.post("/kk/admin/indicators/population/load", data={"csrf_token": token, "upload": upload,
                                                                       "file_name": "pop.csv"})
    assert loaded.status_code == 200 and "2026-03-03" in loaded.text


# ---------------------------------------------------------------- page, API, open data

def test_the_public_page_shows_the_figures_their_source_and_when_they_were_computed(client, session, world):
    page = client.get("/ru/indicators", params={"year": 2026})
    assert page.status_code == 200 and "set-cookie" not in page.headers
    text = page.text
    assert "Bureau of National Statistics" in text and "2026-02-01" in text  # the denominator's source and date
    assert "Последнее обновление" in text and "KZ-62" in text and "Цель на 2026" in text
    assert text.count("<path d=") == 20  # the map of every unit
    assert 'role="img"' in text and "<title" in text
    assert "Участники турнира" in text  # named as not measured yet, not shown as zero
    assert "Ұлттық индикаторлар" in client.get("/kk/indicators").text


def test_the_api_gives_every_indicator_nationally_and_per_region_with_its_target(client, world):
    body = client.get("/api/v1/indicators", params={"year": 2026}).json()
    aware = next(i for i in body["indicators"] if i["key"] == "ai_awareness")
    assert aware["target_percent"] == 30 and aware["national"]["percent"] == 0.2
    assert {c["region_iso"] for c in aware["regions"]} == set(ISO_CODES.values())
    assert aware["denominator_sources"][0]["source"] == "Bureau of National Statistics"
    assert aware["computed_at"] and body["computed_at"]
    ulytau = next(c for c in aware["regions"] if c["region_iso"] == "KZ-62")
    assert ulytau["suppressed"] and ulytau["numerator"] is None
    assert body["not_measured"] == []


def test_open_data_publishes_no_cell_below_ten_and_no_hidden_cell_can_be_worked_out(client, world):
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/open-data/indicators.csv").text)))
    assert rows and {r["region_iso"] for r in rows} >= set(ISO_CODES.values()) | {"KZ"}
    people = {i.key for i in service.INDICATORS if i.people}
    for row in rows:
        if row["indicator"] in people and row["numerator"] != "":
            assert int(row["numerator"]) >= service.SMALL_CELL, row
        if row["suppressed"] == "1":
            assert row["numerator"] == "" and row["percent"] == ""
    for (indicator, year), table in _tables(rows).items():
        if indicator in people:
            assert_no_hidden_cell_recoverable(table)
    body = client.get("/api/v1/open-data/indicators.json", params={"lang": "kk"}).json()
    assert set(body["dictionary"]["fields"]) == set(rows[0]) and body["dictionary"]["regions"]["ulytau"]["iso"] == "KZ-62"


def _tables(rows):
    tables: dict = {}
    for row in rows:
        value = None if row["numerator"] == "" else int(row["numerator"])
        tables.setdefault((row["indicator"], row["year"]), {})[(row["region"], row["breakdown"])] = value
    return tables


def assert_no_hidden_cell_recoverable(table: dict) -> None:
    """An attacker's view: the published cells, and the relations totals = sums. A hidden cell can be worked out
    when its unit vector is a combination of the relations restricted to the hidden cells: when adding it does
    not raise the rank (a rank test, where the service itself looks at the null space)."""
    import numpy as np
    hidden = sorted(key for key, value in table.items() if value is None)
    index = {key: i for i, key in enumerate(hidden)}
    matrix = []
    for total, parts in service.relations_of(table):
        row = np.zeros(len(hidden))
        for key, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
            if key in index:
                row[index[key]] += sign
        if row.any():
            matrix.append(row)
    if not matrix:
        return
    rank = np.linalg.matrix_rank(np.array(matrix))
    for key, i in index.items():
        unit = np.zeros(len(hidden))
        unit[i] = 1.0
        assert np.linalg.matrix_rank(np.array([*matrix, unit])) > rank, f"hidden cell {key} can be recomputed"


def test_tournament_participants_are_counted_per_stage_category_and_region(session, settings):
    from gennation.platform.database import utcnow
    made = tournament_world(session, settings.var_dir)
    service.roll_up(session)
    found = figures(session, "tournament_participants", utcnow().year)
    qualifier, regional, school, adults = (made[k].id for k in ("qualifier", "regional", "school", "adults"))
    assert {c.breakdown: c.numerator for c in found.breakdowns} == {
        f"{qualifier}-{school}": 12, f"{qualifier}-{adults}": 3, f"{regional}-{school}": 2}
    assert {(c.region, c.breakdown): c.numerator for c in found.by_region_breakdown if c.numerator} == {
        ("astana", f"{qualifier}-{school}"): 12, ("shymkent", f"{qualifier}-{adults}"): 3,
        ("astana", f"{regional}-{school}"): 2}
    assert found.national is None and found.regions == []  # no total: one person is in several stages
    public = {c.breakdown: c.numerator for c in figures(session, "tournament_participants", utcnow().year,
                                                         public=True).breakdowns}
    assert public[f"{qualifier}-{school}"] == 12 and public[f"{regional}-{school}"] is None  # 2 < 10
