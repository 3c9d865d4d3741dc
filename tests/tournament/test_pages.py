"""The tournament's pages in Kazakh and Russian: registration, a stage with its leaderboard, a task with
the upload form and my entries, a timed quiz, and the organisers' console."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from gennation.platform.accounts.models import Role
from gennation.tournament.models import Participant, StageEvent
from tests.certificates.conftest import promote
from tests.conftest import csrf_of, register, sign_in
from tests.tournament import builders


@pytest.fixture
def signed_in_pupil(client, small_season):
    register(client, "oqushy", lang="kk", school_grade="7")
    return client


@pytest.mark.parametrize("lang, words", [("kk", ("турнир", "Санатыңызды таңдаңыз")), ("ru", ("турнир", "Выберите категорию"))])
def test_the_tournament_home_lists_the_season_and_registers(signed_in_pupil, lang, words):
    client = signed_in_pupil
    page = client.get(f"/{lang}/tournament")
    assert page.status_code == 200
    assert words[0] in page.text.lower() and words[1] in page.text
    assert "Сынақ маусымы" in page.text or "Тестовый сезон" in page.text
    form = client.post(f"/{lang}/tournament/seasons/test-season/registration",
                       data={"csrf_token": csrf_of(page.text), "category": "grades-5-8"}, follow_redirects=False)
    assert form.status_code == 303
    assert "5-8" in client.get(f"/{lang}/tournament").text


def test_a_task_page_takes_an_upload_and_lists_the_entry(signed_in_pupil, small_season, session):
    client = signed_in_pupil
    token = csrf_of(client.get("/kk/tournament").text)
    client.post("/kk/tournament/seasons/test-season/registration", data={"csrf_token": token, "category": "grades-5-8"})
    task = small_season["practical"]["grades-5-8"]
    page = client.get(f"/kk/tournament/tasks/{task.public_id}")
    assert page.status_code == 200 and 'type="file"' in page.text and "Accuracy" in page.text
    bad = b"id,late\nb000,maybe\n"
    client.post(f"/kk/tournament/tasks/{task.public_id}/entries", data={"csrf_token": csrf_of(page.text)},
                files={"file": ("mine.csv", bad, "text/csv")})
    good = builders.predictions(small_season["labels"], 1.0)
    client.post(f"/kk/tournament/tasks/{task.public_id}/entries", data={"csrf_token": csrf_of(page.text)},
                files={"file": ("mine.csv", good, "text/csv")})
    page = client.get(f"/kk/tournament/tasks/{task.public_id}")
    assert page.text.count("mine.csv") == 2
    assert "1,0000" in page.text  # the scored one, written the Kazakh way
    assert re.search(r"<li>[^<]*maybe", page.text)  # the rejected one, with its reason
    fragment = client.get(f"/kk/tournament/tasks/{task.public_id}", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith("<section id=\"entries\"")
    stage = client.get(f"/ru/tournament/stages/{small_season['qualifier'].id}")
    assert stage.status_code == 200 and "Ваше место: 1" in stage.text


def test_a_quiz_page_saves_and_finishes(signed_in_pupil, small_season):
    client = signed_in_pupil
    token = csrf_of(client.get("/ru/tournament").text)
    client.post("/ru/tournament/seasons/test-season/registration", data={"csrf_token": token, "category": "grades-5-8"})
    task = small_season["quiz"]["grades-5-8"]
    started = client.post(f"/ru/tournament/tasks/{task.public_id}/quiz", data={"csrf_token": token}, follow_redirects=False)
    assert started.status_code == 303
    page = client.get(started.headers["location"])
    assert page.status_code == 200 and page.text.count("<fieldset") == 5
    first = re.search(r'name="(q\d)" value="([0-9a-f]{6})"', page.text)
    saved = client.post(started.headers["location"], data={"csrf_token": token, first.group(1): first.group(2)},
                        headers={"HX-Request": "true"})
    assert saved.status_code == 200 and "Сохранено" in saved.text
    done = client.post(started.headers["location"], data={"csrf_token": token, "finish": "1"})
    assert "Ваш результат" in done.text


def test_the_console_is_for_organisers_and_moves_a_stage(client, small_season, session):
    register(client, "jury", lang="ru", category="adult", school_grade="")
    stage_id = small_season["qualifier"].id
    assert client.get("/ru/tournament/console").status_code == 403
    promote(session, "jury", Role.organiser)
    token = sign_in(client, "jury", lang="ru")
    console = client.get(f"/ru/tournament/console/stages/{stage_id}")
    assert console.status_code == 200 and "Журнал" in console.text
    moved = client.post(f"/ru/tournament/console/stages/{stage_id}/moves", data={"csrf_token": token, "to": "closed"},
                        follow_redirects=True)
    assert moved.status_code == 200
    session.expire_all()
    assert session.exec(select(StageEvent)).one().to_status == "closed"
    csv_export = client.get(f"/ru/tournament/console/stages/{stage_id}/results.csv")
    assert csv_export.status_code == 200 and csv_export.text.lstrip("\ufeff").startswith("category,rank")
    assert session.exec(select(Participant)).all() == []
