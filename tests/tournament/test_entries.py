"""A participant's path through a practical task: files, entries checked at once, scored after commit,
limits that count only scored entries, and nobody else's entries visible."""
from __future__ import annotations

from sqlmodel import select

from gennation.tournament import service
from gennation.tournament.models import Entry, EntryStatus, Participant, Task
from tests.conftest import api_token
from tests.tournament import builders

BASE = "/api/v1/tournament"


def task_id(small_season, category: str = "grades-5-8") -> str:
    return small_season["practical"][category].public_id


def send(client, headers, public_id: str, data: bytes, name: str = "predictions.csv"):
    return client.post(f"{BASE}/tasks/{public_id}/entries", files={"file": (name, data, "text/csv")}, headers=headers)


def test_stages_open_to_me_list_my_category_tasks(client, small_season, pupil):
    stages = client.get(f"{BASE}/stages", headers=pupil).json()
    assert [s["category"] for s in stages] == ["grades-5-8"]
    kinds = sorted(t["kind"] for t in stages[0]["tasks"])
    assert kinds == ["practical", "quiz"]
    assert task_id(small_season, "adults") not in {t["id"] for t in stages[0]["tasks"]}


def test_the_task_names_its_columns_and_files_and_never_its_labels(client, small_season, pupil):
    tid = task_id(small_season)
    task = client.get(f"{BASE}/tasks/{tid}", headers=pupil).json()
    assert (task["kind"], task["metric"], task["id_column"], task["target_column"]) == ("practical", "accuracy", "id", "late")
    assert set(task["files"]) >= {"train", "test"}
    test_file = client.get(task["files"]["test"], headers=pupil)
    assert test_file.status_code == 200 and test_file.text.splitlines()[0] == "id,minutes_late_yesterday"
    assert "split" not in test_file.text and "private" not in test_file.text
    assert client.get(f"{BASE}/tasks/{tid}/files/labels.csv", headers=pupil).status_code == 404


def test_a_good_entry_is_queued_then_scored(client, small_season, pupil):
    labels = small_season["labels"]
    response = send(client, pupil, task_id(small_season), builders.predictions(labels, 1.0))
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    entry = client.get(f"{BASE}/entries/{response.json()['id']}", headers=pupil).json()
    assert entry["status"] == "scored" and entry["public_score"] == 1.0  # embedded mode: scored after commit
    assert entry["private_score"] is None  # until the results are published


def test_a_malformed_file_is_refused_at_once_naming_rows_and_kept(client, small_season, pupil, session):
    labels = small_season["labels"]
    lines = builders.predictions(labels, 1.0).decode().splitlines()
    lines[3] = lines[3].split(",")[0] + ",perhaps"
    del lines[5]
    response = client.post(f"{BASE}/tasks/{task_id(small_season)}/entries?lang=ru", headers=pupil,
                           files={"file": ("p.csv", ("\n".join(lines) + "\n").encode(), "text/csv")})
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == "rejected"
    assert [p["line"] for p in body["detail"]][:1] == [4]
    assert body["detail"][0]["message"] == "Строка 4: perhaps не входит в классы yes, no."
    kept = client.get(f"{BASE}/tasks/{task_id(small_season)}/entries", headers=pupil).json()
    assert kept[0]["status"] == "rejected" and kept[0]["errors"]
    task = client.get(f"{BASE}/tasks/{task_id(small_season)}", headers=pupil).json()
    assert task["entries_left_today"] == task["daily_limit"]  # not counted
    for value in set(labels.values()):
        assert f",{value}" not in str(body["detail"])


def test_the_daily_limit_counts_scored_entries_and_gives_back_failed_ones(client, small_season, pupil, session):
    tid = task_id(small_season)
    labels = small_season["labels"]
    for n in range(5):
        assert send(client, pupil, tid, builders.predictions(labels, 0.5 + n / 10, seed=n)).status_code == 202
    refused = send(client, pupil, tid, builders.predictions(labels, 0.9))
    assert refused.status_code == 429 and "5" in refused.json()["detail"]
    entry = session.exec(select(Entry).order_by(Entry.id.desc())).first()
    entry.status, entry.counted = EntryStatus.failed, False  # as the scorer does after its last try
    session.add(entry)
    session.commit()
    assert send(client, pupil, tid, builders.predictions(labels, 0.9)).status_code == 202


def test_someone_elses_entry_is_not_found(client, small_season, pupil):
    sent = send(client, pupil, task_id(small_season), builders.predictions(small_season["labels"], 1.0)).json()
    other = api_token(client, "other-pupil", school_grade="6")
    assert client.get(f"{BASE}/entries/{sent['id']}", headers=other).status_code == 404
    assert client.get(f"{BASE}/entries/{sent['id'][:-1]}x", headers=pupil).status_code == 404


def test_a_task_of_another_category_or_an_unregistered_person_is_refused(client, small_season, pupil):
    data = builders.predictions(small_season["labels"], 1.0)
    assert send(client, pupil, task_id(small_season, "adults"), data).status_code == 403
    stranger = api_token(client, "stranger", school_grade="6")
    assert send(client, stranger, task_id(small_season), data).status_code == 403


def test_registration_checks_the_profile(client, small_season):
    ninth = api_token(client, "ninth-grader")  # grade 9: not in grades 5-8
    response = client.post(f"{BASE}/seasons/test-season/registration", json={"category": "grades-5-8"}, headers=ninth)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "category"


def test_an_entry_after_the_close_is_refused_with_the_server_time(client, small_season, pupil, session):
    stage = session.get(type(small_season["qualifier"]), small_season["qualifier"].id)
    stage.closes_at = service.utcnow() - service.timedelta(minutes=1)
    session.add(stage)
    session.commit()
    response = send(client, pupil, task_id(small_season), builders.predictions(small_season["labels"], 1.0))
    assert response.status_code == 409 and "20" in response.json()["detail"]  # the server time is shown


def test_extra_time_keeps_the_window_open_for_one_participant(client, small_season, pupil, organiser, session):
    stage = session.get(type(small_season["qualifier"]), small_season["qualifier"].id)
    stage.closes_at = service.utcnow() - service.timedelta(minutes=1)
    session.add(stage)
    session.commit()
    participant = session.exec(select(Participant)).one()
    granted = client.post(f"{BASE}/stages/{stage.id}/extra-time", headers=organiser,
                          json={"participant_id": participant.id, "minutes": 30, "reason": "screen reader"})
    assert granted.status_code == 201, granted.text
    response = send(client, pupil, task_id(small_season), builders.predictions(small_season["labels"], 1.0))
    assert response.status_code == 202


def test_choosing_entries_for_the_final(client, small_season, pupil, session):
    tid = task_id(small_season)
    labels = small_season["labels"]
    ids = [send(client, pupil, tid, builders.predictions(labels, r, seed=n)).json()["id"]
           for n, r in enumerate((0.4, 0.9, 0.6))]
    assert client.put(f"{BASE}/tasks/{tid}/selection", json={"entries": ids}, headers=pupil).status_code == 422
    chosen = client.put(f"{BASE}/tasks/{tid}/selection", json={"entries": ids[:1]}, headers=pupil)
    assert chosen.status_code == 200 and [e["id"] for e in chosen.json()] == ids[:1]
    task = session.exec(select(Task).where(Task.public_id == tid)).one()
    entry = session.exec(select(Entry).where(Entry.public_id == ids[0])).one()
    standing = session.exec(select(service.Standing)).one()
    assert standing.private_points == entry.private_points  # the chosen one, not the best public one
    assert task.kind == "practical"
