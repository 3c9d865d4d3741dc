"""Flags for the organiser's review: the same file, a near-identical file (a copy with a few rows changed
or reordered), and honest people with similar scores left alone."""
from __future__ import annotations

from gennation.platform.accounts.models import User
from gennation.tournament import service, tasks
from tests.tournament import builders
from tests.tournament.builders import right_answers


def _entered(session, settings, names):
    made = builders.season(session, settings.var_dir, test_rows=400)
    people = {}
    for name in names:
        people[name] = builders.person(session, f"flag-{name}", grade=7)
        people[name] = (people[name], service.register(session, people[name], made["season"], "grades-5-8"))
    session.commit()
    return made, people


def _send(session, settings, made, user, data: bytes):
    entry = service.send_entry(session, user, made["practical"]["grades-5-8"], "p.csv", data, settings.var_dir).entry
    session.commit()
    assert tasks.score_now(settings, entry.id) in ("scored", "kept")
    return entry


def test_a_copy_with_one_row_changed_and_rows_reordered_is_flagged_as_near_identical(session, settings):
    made, people = _entered(session, settings, ["author", "copier", "honest", "twin"])
    original = builders.predictions(made["labels"], 0.7, seed=1)
    lines = original.decode().splitlines()
    header, rows = lines[0], lines[1:]
    changed = rows[:]
    row_id, value = changed[3].split(",")
    changed[3] = f"{row_id},{'no' if value == 'yes' else 'yes'}"
    copy = "\r\n".join([header] + list(reversed(changed))) + "\r\n"  # reordered, other line ends, one row off
    _send(session, settings, made, people["author"][0], original)
    _send(session, settings, made, people["copier"][0], copy.encode())
    _send(session, settings, made, people["honest"][0], builders.predictions(made["labels"], 0.7, seed=2))
    _send(session, settings, made, people["twin"][0], original)  # byte for byte: flagged as the same file

    found = service.flags(session, made["qualifier"])
    author, copier, honest, twin = (people[n][1].id for n in ("author", "copier", "honest", "twin"))
    near = [f for f in found if f.kind == "near_file"]
    same = [f for f in found if f.kind == "same_file"]
    assert sorted(f.participants for f in near) == sorted([sorted([author, copier]), sorted([copier, twin])])
    assert all(honest not in f.participants for f in near + same)
    assert [sorted(f.participants) for f in same] == [sorted([author, twin])]
    assert all(f.detail.endswith("%") and int(f.detail[:-1]) >= 90 for f in near)


def test_two_people_with_many_entries_each_are_still_compared(session, settings):
    """More entries than COMMON_BAND between two people: it counts people, so the pair is still looked at."""
    made = builders.season(session, settings.var_dir, test_rows=400, daily_limit=30)
    author, copier = (service.register(session, builders.person(session, f"busy-{n}", grade=7), made["season"],
                                       "grades-5-8") for n in ("author", "copier"))
    session.commit()
    original = builders.predictions(made["labels"], 0.7, seed=1)
    for n in range(26):
        _send(session, settings, made, session.get(User, author.user_id), original)
        _send(session, settings, made, session.get(User, copier.user_id), original.replace(b"\n", b"\r\n"))
    near = [f for f in service.flags(session, made["qualifier"]) if f.kind == "near_file"]
    assert [sorted(f.participants) for f in near] == [sorted([author.id, copier.id])]


def test_the_same_person_resending_a_corrected_file_is_not_flagged(session, settings):
    made, people = _entered(session, settings, ["alone"])
    user = people["alone"][0]
    _send(session, settings, made, user, builders.predictions(made["labels"], 0.7, seed=1))
    _send(session, settings, made, user, builders.predictions(made["labels"], 0.7, seed=1).replace(b"yes\n", b"no\n", 1))
    assert [f for f in service.flags(session, made["qualifier"]) if f.kind in ("near_file", "same_file")] == []


def test_a_quiz_finished_right_in_seconds_is_flagged_and_a_slow_one_is_not(session, settings):
    from datetime import timedelta
    made, people = _entered(session, settings, ["quick", "careful"])
    task = made["quiz"]["grades-5-8"]
    for name, seconds in (("quick", 6), ("careful", 240)):
        run = service.start_quiz(session, people[name][0], task)
        service.save_answers(session, run, task, right_answers(run))
        service.finish_quiz(session, run, task, run.started_at + timedelta(seconds=seconds))
    session.commit()
    fast = [f for f in service.flags(session, made["qualifier"]) if f.kind == "fast_quiz"]
    assert [f.participants for f in fast] == [[people["quick"][1].id]]


def test_many_registrations_from_one_network_within_an_hour_are_flagged(session, settings):
    made = builders.season(session, settings.var_dir)
    for n in range(service.MANY_FROM_ONE_NETWORK):
        service.register(session, builders.person(session, f"net-{n}", grade=6), made["season"], "grades-5-8",
                         network="10.1.2.0/24")
    service.register(session, builders.person(session, "elsewhere", grade=6), made["season"], "grades-5-8",
                     network="192.168.7.0/24")
    session.commit()
    crowd = [f for f in service.flags(session, made["qualifier"]) if f.kind == "one_network"]
    assert len(crowd) == 1 and crowd[0].detail.startswith("10.1.2.0/24")
    assert len(crowd[0].participants) == service.MANY_FROM_ONE_NETWORK
