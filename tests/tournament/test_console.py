"""The organisers' console forms: a season, a category, a stage in Astana time, a practical task with its
three files and a quiz task from two bank files; bad input comes back filled in, in the page's language."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from gennation.platform.accounts.models import Role
from gennation.tournament.models import Category, Season, Stage, Task, TaskKind
from gennation.tournament.sample_season import BANKS
from tests.certificates.conftest import promote
from tests.conftest import csrf_of, register, sign_in
from tests.tournament import builders


@pytest.fixture
def jury(client, session):
    register(client, "console-jury", lang="kk", category="adult", school_grade="")
    promote(session, "console-jury", Role.organiser)
    sign_in(client, "console-jury", lang="kk")
    return client


def _post(client, path, data, files=None):
    token = csrf_of(client.get(path).text)
    return client.post(path, data={"csrf_token": token, **data}, files=files, follow_redirects=False)


def test_an_organiser_sets_up_a_season_from_the_console(jury, session):
    client = jury
    made = _post(client, "/kk/tournament/console/seasons/new",
                 {"slug": "2027-koktem", "title_kk": "2027 көктемгі маусым", "title_ru": "Весенний сезон 2027"})
    assert made.status_code == 303 and "/kk/tournament/console?message=" in made.headers["location"]
    assert "2027 көктемгі маусым" in client.get(made.headers["location"]).text
    assert _post(client, "/kk/tournament/console/seasons/2027-koktem/categories/new", {
        "slug": "grades-9-11", "title_kk": "9-11 сыныптар", "title_ru": "9-11 классы",
        "admits": "school_student", "grade_min": "9", "grade_max": "11"}).status_code == 303
    assert _post(client, "/kk/tournament/console/seasons/2027-koktem/stages/new", {
        "kind": "qualifier", "title_kk": "Іріктеу", "title_ru": "Отбор", "opens_at": "2027-03-01T10:00",
        "closes_at": "2027-03-20T18:00", "freeze_minutes": "60", "advance_top": "5",
        "advance_threshold": "12,5"}).status_code == 303  # a decimal comma, as Kazakh and Russian write it
    season = session.exec(select(Season).where(Season.slug == "2027-koktem")).one()
    category = session.exec(select(Category).where(Category.season_id == season.id)).one()
    assert (category.admits, category.grade_min, category.grade_max) == (["school_student"], 9, 11)
    stage = session.exec(select(Stage).where(Stage.season_id == season.id)).one()
    opens = stage.opens_at if stage.opens_at.tzinfo else stage.opens_at.replace(tzinfo=UTC)
    assert opens == datetime(2027, 3, 1, 5, 0, tzinfo=UTC)  # 10:00 in Astana is 05:00 UTC
    assert (stage.status, stage.freeze_minutes, stage.advance_top, stage.advance_threshold) == ("draft", 60, 5, 12.5)

    files, _labels, _private = builders.practical_files()
    practical = _post(client, f"/kk/tournament/console/stages/{stage.id}/practical/new", {
        "category": "grades-9-11", "title_kk": "Автобус", "title_ru": "Автобус", "metric": "accuracy",
        "id_column": "id", "target_column": "late", "classes": "yes, no", "daily_limit": "3", "total_limit": "20"},
        files={"train": ("train.csv", files.train), "test": ("test.csv", files.test),
               "labels": ("labels.csv", files.labels)})
    assert practical.status_code == 303, practical.text
    banks = {lang: (BANKS / lang / "school.yaml").read_bytes() for lang in ("kk", "ru")}
    quiz = _post(client, f"/kk/tournament/console/stages/{stage.id}/quiz/new", {
        "category": "grades-9-11", "title_kk": "Викторина", "title_ru": "Викторина", "draw": "10", "minutes": "15"},
        files={"bank_kk": ("kk.yaml", banks["kk"]), "bank_ru": ("ru.yaml", banks["ru"])})
    assert quiz.status_code == 303, quiz.text
    made_tasks = {t.kind: t for t in session.exec(select(Task).where(Task.stage_id == stage.id))}
    assert made_tasks[TaskKind.practical].classes == ["yes", "no"] and made_tasks[TaskKind.practical].daily_limit == 3
    assert made_tasks[TaskKind.quiz].draw == 10 and len(made_tasks[TaskKind.quiz].questions) >= 30


@pytest.mark.parametrize("lang, fill_in", [("kk", "Осы өрісті толтырыңыз"), ("ru", "Заполните это поле")])
def test_bad_season_input_comes_back_filled_in_with_messages_beside_the_fields(jury, session, lang, fill_in):
    page = _post(jury, f"/{lang}/tournament/console/seasons/new",
                 {"slug": "Көктем 2027", "title_kk": "Көктемгі маусым", "title_ru": ""})
    assert page.status_code == 422
    assert 'value="Көктем 2027"' in page.text and 'value="Көктемгі маусым"' in page.text
    assert 'id="slug-error"' in page.text and 'id="title_ru-error"' in page.text and fill_in in page.text
    assert session.exec(select(Season)).all() == []


def test_a_stage_that_closes_before_it_opens_and_a_broken_bank_are_refused(jury, session):
    client = jury
    _post(client, "/ru/tournament/console/seasons/new", {"slug": "bad-dates", "title_kk": "Маусым", "title_ru": "Сезон"})
    page = _post(client, "/ru/tournament/console/seasons/bad-dates/stages/new", {
        "kind": "final", "title_kk": "Финал", "title_ru": "Финал", "opens_at": "2027-05-02T10:00",
        "closes_at": "2027-05-01T10:00"})
    assert page.status_code == 422 and 'id="closes_at-error"' in page.text and 'value="2027-05-02T10:00"' in page.text
    assert session.exec(select(Stage)).all() == []
    _post(client, "/ru/tournament/console/seasons/bad-dates/categories/new",
          {"slug": "adults", "title_kk": "Ересектер", "title_ru": "Взрослые", "admits": "adult"})
    _post(client, "/ru/tournament/console/seasons/bad-dates/stages/new", {
        "kind": "final", "title_kk": "Финал", "title_ru": "Финал", "opens_at": "2027-05-01T10:00",
        "closes_at": "2027-05-02T10:00"})
    stage = session.exec(select(Stage)).one()
    broken = _post(client, f"/ru/tournament/console/stages/{stage.id}/quiz/new", {
        "category": "adults", "title_kk": "Викторина", "title_ru": "Викторина", "draw": "5", "minutes": "10"},
        files={"bank_kk": ("kk.yaml", b"- id: [unclosed"), "bank_ru": ("ru.yaml", b"[]")})
    assert broken.status_code == 422 and 'id="bank_kk-error"' in broken.text and 'value="Викторина"' in broken.text
    assert session.exec(select(Task)).all() == []


def test_the_console_forms_are_for_organisers_only(client, session, settings):
    made = builders.season(session, settings.var_dir)
    made["qualifier"].status = "draft"
    session.commit()
    register(client, "not-jury", lang="kk", category="adult", school_grade="")
    assert client.get("/kk/tournament/console/seasons/new").status_code == 403
    for part in ("practical", "quiz"):
        assert client.get(f"/kk/tournament/console/stages/{made['qualifier'].id}/{part}/new").status_code == 403
    assert client.get("/kk/tournament/console/seasons/test-season/stages/new").status_code == 403
    token = csrf_of(client.get("/kk/tournament").text)
    refused = client.post("/kk/tournament/console/seasons/new", data={
        "csrf_token": token, "slug": "mine", "title_kk": "Менікі", "title_ru": "Мой"}, follow_redirects=False)
    assert refused.status_code == 403
    assert [s.slug for s in session.exec(select(Season))] == ["test-season"]
