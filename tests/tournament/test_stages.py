"""Stages move in order, on time by the clock or by an organiser, every move logged; locked results
stay locked without an audited unlock."""
from __future__ import annotations

from datetime import timedelta

import pytest

from gennation.platform.database import utcnow
from gennation.platform.errors import InvalidField
from gennation.tournament import service
from gennation.tournament.models import StageKind, StageStatus
from tests.tournament import builders


def test_the_clock_opens_freezes_and_closes_on_time(session, settings):
    now = utcnow()
    made = builders.season(session, settings.var_dir, now)
    stage = made["qualifier"]
    stage.status, stage.opens_at, stage.closes_at, stage.freeze_minutes = (
        StageStatus.scheduled, now + timedelta(minutes=10), now + timedelta(hours=2), 30)
    session.add(stage)
    session.flush()
    assert service.run_clock(session, now) == []
    assert service.run_clock(session, now + timedelta(minutes=11)) == [(stage.id, "open")]
    assert service.run_clock(session, now + timedelta(minutes=95)) == [(stage.id, "frozen")]
    assert service.run_clock(session, now + timedelta(hours=3)) == [(stage.id, "closed")]
    events = service.stage_events(session, stage.id)
    assert [(e.from_status, e.to_status, e.actor) for e in events] == [
        ("scheduled", "open", "clock"), ("open", "frozen", "clock"), ("frozen", "closed", "clock")]


def test_a_late_clock_makes_every_due_move_at_once(session, settings):
    now = utcnow()
    stage = builders.season(session, settings.var_dir, now)["qualifier"]
    stage.status, stage.opens_at, stage.closes_at = StageStatus.scheduled, now, now + timedelta(hours=1)
    session.add(stage)
    assert [s for _, s in service.run_clock(session, now + timedelta(hours=5))] == ["open", "closed"]


def test_moves_out_of_order_are_refused(session, settings):
    stage = builders.season(session, settings.var_dir)["qualifier"]
    organiser = builders.person(session, "org", role="organiser")
    with pytest.raises(service.BadMove):
        service.move(session, stage, StageStatus.published, organiser)
    service.move(session, stage, StageStatus.closed, organiser)
    service.move(session, stage, StageStatus.locked, organiser)
    with pytest.raises(service.ResultsLocked):
        service.start_rescore(session, organiser, service.stage_tasks(session, stage.id)[0])
    with pytest.raises(InvalidField):
        service.move(session, stage, StageStatus.closed, organiser, "")  # unlocking needs a reason
    service.move(session, stage, StageStatus.closed, organiser, "labels of row 17 were wrong")
    assert service.stage_events(session, stage.id)[-1].reason == "labels of row 17 were wrong"


def test_a_stage_cannot_be_scheduled_before_the_one_before_closes(session, settings):
    now = utcnow()
    made = builders.season(session, settings.var_dir, now)
    regional = builders.stage(session, made["season"], 2, StageKind.regional, now, StageStatus.draft)
    service.add_quiz_task(session, regional, made["school"], title={"kk": "В", "ru": "В"}, description={},
                          questions=builders.BANK, draw=3, minutes=5)
    organiser = builders.person(session, "org", role="organiser")
    with pytest.raises(InvalidField):
        service.move(session, regional, StageStatus.scheduled, organiser)
    regional.opens_at = made["qualifier"].closes_at + timedelta(days=1)
    regional.closes_at = regional.opens_at + timedelta(days=1)
    assert service.move(session, regional, StageStatus.scheduled, organiser).status == StageStatus.scheduled


def test_labels_that_do_not_match_the_test_ids_are_refused_naming_the_lines(session, settings):
    made = builders.season(session, settings.var_dir, with_quiz=False)
    draft = builders.stage(session, made["season"], 2, StageKind.final, utcnow(), StageStatus.draft)
    files, _labels, _private = builders.practical_files()
    lines = files.labels.decode().splitlines()
    lines[3] = "zzz,yes,private"
    bad = service.TaskFiles(files.train, files.test, ("\n".join(lines) + "\n").encode())
    with pytest.raises(InvalidField) as refused:
        service.add_practical_task(session, None, draft, made["school"], title={}, description={}, metric="accuracy",
                                   id_column="id", target_column="late", files=bad, var_dir=settings.var_dir)
    assert refused.value.field == "labels" and "4" in refused.value.values["lines"]
    leaky = service.TaskFiles(files.train, files.train, files.labels)  # a test file that holds the answers
    with pytest.raises(InvalidField) as refused:
        service.add_practical_task(session, None, draft, made["school"], title={}, description={}, metric="accuracy",
                                   id_column="id", target_column="late", files=leaky, var_dir=settings.var_dir)
    assert refused.value.field == "test"
