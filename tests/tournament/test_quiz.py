"""Timed quiz tasks: the deadline is fixed at the start, answers are kept as they come, nothing after the
deadline counts, and the course engine grades them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from gennation.platform.database import utcnow
from gennation.tournament import service
from gennation.tournament.models import Standing
from tests.tournament import builders
from tests.tournament.builders import right_answers


@pytest.fixture
def quiz(session, settings):
    made = builders.season(session, settings.var_dir)
    pupil = builders.person(session, "quiz-pupil", grade=6)
    service.register(session, pupil, made["season"], "grades-5-8")
    return made["quiz"]["grades-5-8"], pupil


def test_the_deadline_is_fixed_when_the_run_starts(session, quiz):
    task, pupil = quiz
    now = utcnow()
    run = service.start_quiz(session, pupil, task, now)
    assert run.deadline_at == now + timedelta(minutes=10)
    assert service.start_quiz(session, pupil, task, now + timedelta(minutes=5)).id == run.id  # the same run, same clock
    assert len(run.question_slugs) == 5 and set(run.question_slugs) <= {q["slug"] for q in builders.BANK}


def test_saved_answers_survive_and_are_graded(session, quiz):
    task, pupil = quiz
    now = utcnow()
    run = service.start_quiz(session, pupil, task, now)
    answers = right_answers(run)
    first, *rest = run.question_slugs
    service.save_answers(session, run, task, {first: answers[first]}, now + timedelta(minutes=1))
    service.save_answers(session, run, task, {s: answers[s] for s in rest[:3]}, now + timedelta(minutes=2))
    session.expire_all()
    run = session.get(type(run), run.id)
    assert len(run.answers) == 4  # the two saves were both kept
    service.finish_quiz(session, run, task, now + timedelta(minutes=3))
    assert run.score == 80.0
    standing = session.exec(select(Standing)).one()
    assert standing.public_points == 80.0


def test_answers_after_the_deadline_are_refused_and_the_run_is_graded(session, quiz):
    task, pupil = quiz
    now = utcnow()
    run = service.start_quiz(session, pupil, task, now)
    answers = right_answers(run)
    service.save_answers(session, run, task, dict(list(answers.items())[:2]), now + timedelta(minutes=9))
    with pytest.raises(service.QuizOver):
        service.save_answers(session, run, task, answers, now + timedelta(minutes=11))
    assert run.finished_at is not None and run.score == 40.0


def test_the_sweeper_grades_runs_left_open(session, quiz):
    task, pupil = quiz
    now = utcnow() - timedelta(minutes=30)
    run = service.start_quiz(session, pupil, task, now)
    assert service.overdue_runs(session) == [run.id]


def test_a_run_never_outlasts_the_stage(session, settings, quiz):
    task, pupil = quiz
    stage = service.stage(session, task.stage_id)
    now = utcnow()
    stage.closes_at = now + timedelta(minutes=3)
    session.add(stage)
    run = service.start_quiz(session, pupil, task, now)
    assert service.as_utc(run.deadline_at) == service.as_utc(stage.closes_at)


def test_the_api_shows_questions_without_keys_and_saves_answers(client, small_season, pupil):
    task = small_season["quiz"]["grades-5-8"].public_id
    started = client.post(f"/api/v1/tournament/tasks/{task}/quiz", headers=pupil)
    assert started.status_code == 201, started.text
    run = started.json()
    assert len(run["questions"]) == 5 and run["seconds_left"] > 500
    text = started.text
    assert "correct" not in text and '"a"' not in text  # options are named by tokens, never by their ids
    first = run["questions"][0]
    saved = client.put(f"/api/v1/tournament/quiz-runs/{run['id']}/answers", headers=pupil,
                       json={"answers": {first["id"]: first["options"][0]["id"]}})
    assert saved.status_code == 200 and saved.json()["answers"] == {first["id"]: first["options"][0]["id"]}
    finished = client.post(f"/api/v1/tournament/quiz-runs/{run['id']}/finish", headers=pupil).json()
    assert finished["finished"] and finished["score"] in (0.0, 20.0)
