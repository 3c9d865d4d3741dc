"""The audit log through HTTP: a request's change and its row are committed together (or neither), a
learner's own changes are not logged, and only admins read the log (a page in kk and ru, and the API)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from gennation.platform.accounts.models import Role, User
from gennation.platform.audit import service as audit
from gennation.platform.audit.models import AuditEvent
from gennation.platform.database import utcnow
from gennation.platform.institutions.models import ClassMember
from tests.certificates.conftest import promote
from tests.conftest import api_token, sign_in

TEACHER = {"role": "teacher", "category": "adult", "school_grade": ""}


def _user(session, username: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


def _events(session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.action != "content.reloaded").order_by(AuditEvent.id)))


@pytest.fixture
def people(client, session) -> dict:
    headers = {name: api_token(client, name, **fields) for name, fields in (
        ("boss", {}), ("mugalim", TEACHER), ("okushy", {}), ("jarys", {}))}
    promote(session, "boss", Role.admin)
    promote(session, "jarys", Role.organiser)
    teacher = _user(session, "mugalim")
    teacher.role, teacher.teacher_confirmed_at = Role.teacher, utcnow()
    session.add(teacher)
    session.commit()
    return headers


@pytest.fixture
def classroom(client, session, people) -> int:
    made = client.post("/api/v1/classes", json={"name": "8 «Б»"}, headers=people["mugalim"])
    assert made.status_code == 201, made.text
    joined = client.post("/api/v1/classes/join", json={"code": made.json()["join_code"]}, headers=people["okushy"])
    assert joined.status_code == 200, joined.text
    return made.json()["id"]


def test_a_teachers_action_is_logged_with_the_request_id(client, session, people, classroom):
    before = _events(session)
    learner = _user(session, "okushy")
    response = client.delete(f"/api/v1/classes/{classroom}/members/{learner.id}",
                             headers={**people["mugalim"], "X-Request-ID": "audit-req-42"})
    assert response.status_code == 204
    [event] = _events(session)[len(before):]
    assert (event.action, event.actor_id, event.actor_role, event.affected_user_id, event.request_id) == (
        "class.learner_removed", _user(session, "mugalim").id, "teacher", learner.id, "audit-req-42")
    assert (event.object_type, event.object_id) == ("classroom", str(classroom))


def test_a_failing_request_leaves_neither_the_change_nor_its_row(app, session, people, classroom, monkeypatch):
    """The row is written, then the request fails: both are rolled back together."""
    from gennation.platform.institutions import service as institutions
    original = institutions.remove_learner

    def remove_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(institutions, "remove_learner", remove_then_fail)
    before = _events(session)
    learner = _user(session, "okushy")
    with TestClient(app, raise_server_exceptions=False) as failing:
        response = failing.delete(f"/api/v1/classes/{classroom}/members/{learner.id}", headers=people["mugalim"])
    assert response.status_code == 500
    assert _events(session) == before
    assert session.exec(select(ClassMember).where(ClassMember.classroom_id == classroom)).all() != []


def test_a_learner_changing_their_own_data_writes_nothing(client, session, people, classroom):
    before = _events(session)
    mine = people["okushy"]
    profile = client.get("/api/v1/me", headers=mine).json()
    assert client.put("/api/v1/me", headers=mine, json={
        "display_name": "Жаңа Есім", "region": profile["region"], "category": profile["category"],
        "school_grade": profile["school_grade"], "language": "ru"}).status_code in (200, 204)
    assert client.post("/api/v1/courses/test-course/enroll", headers=mine).status_code in (200, 201)
    assert client.delete(f"/api/v1/classes/{classroom}/membership", headers=mine).status_code == 204
    assert client.post("/api/v1/me/password", headers=mine, json={
        "current_password": "correct horse 42", "new_password": "another horse 43"}).status_code in (200, 204)
    assert _events(session) == before


def _record_many(session, people_ids: dict, count: int) -> None:
    """`count` role changes by the admin on the learner, one a minute back from now, and one by the organiser."""
    now = utcnow()
    boss, learner, organiser = (session.get(User, people_ids[n]) for n in ("boss", "okushy", "jarys"))
    for n in range(count):
        event = audit.record(session, boss, "user.role_set", object_type="user", object_id=learner.id, affected=learner,
                             detail={"from": "learner", "to": "teacher"})
        event.at = now - timedelta(minutes=n)
    old = audit.record(session, organiser, "certificate.revoked", object_type="certificate", object_id="c-1",
                       affected=learner, detail={"reason": "Қате"})
    old.at = now - timedelta(days=40)
    session.commit()


@pytest.fixture
def logged(session, people) -> dict:
    ids = {name: _user(session, name).id for name in ("boss", "okushy", "jarys", "mugalim")}
    _record_many(session, ids, 55)
    return ids


@pytest.mark.parametrize(("lang", "heading", "label"), [("kk", "Аудит журналы", "Рөлі өзгертілді"),
                                                        ("ru", "Журнал аудита", "Роль изменена")])
def test_an_admin_reads_the_log_in_kazakh_and_russian(client, logged, lang, heading, label):
    sign_in(client, "boss", lang)
    page = client.get(f"/{lang}/admin/audit")
    assert page.status_code == 200
    assert heading in page.text and label in page.text and "user.role_set" in page.text
    assert page.text.count("<tr>") == 1 + 50  # the header and a page of 50
    second = client.get(f"/{lang}/admin/audit?page=2")
    # 56 rows made here and the operator's loading of the fixture course
    assert second.text.count("<tr>") == 1 + 7 and 'rel="prev"' in second.text and "content.reloaded" in second.text


@pytest.mark.parametrize(("lang", "words"), [
    ("kk", ('<td class="text">Әкімші</td>', "бұрынғы мәні:</span> Білім алушы", "жаңа мәні:</span> Мұғалім",
            '<td class="text">тіркелгі <span', '<td class="text">Турнир ұйымдастырушысы</td>',
            '<td class="text">сертификат <span', "себебі:</span> Қате", '<td class="text">командалық жол немесе',
            "курстар:</span>", "жаңадан қосылды")),
    ("ru", ('<td class="text">Администратор</td>', "было:</span> Учащийся", "стало:</span> Учитель",
            '<td class="text">учётная запись <span', '<td class="text">Организатор турнира</td>',
            '<td class="text">сертификат <span', "причина:</span> Қате", '<td class="text">командная строка или',
            "курсы:</span>", "добавлен"))])
def test_the_log_names_roles_objects_and_facts_in_the_readers_language(client, logged, lang, words):
    sign_in(client, "boss", lang)
    text = client.get(f"/{lang}/admin/audit").text + client.get(f"/{lang}/admin/audit?page=2").text
    missing = [word for word in words if word not in text]
    assert not missing, missing
    # The stored codes are not what a reader sees (the action's code stays, small, for searching).
    assert not any(code in text for code in (">admin</td>", "from:</span>", ">user <span", ">operator</td>", "(operator"))


def test_the_filters_narrow_the_log_and_htmx_gets_only_the_table(client, session, logged):
    sign_in(client, "boss")
    by_organiser = client.get("/kk/admin/audit", params={"actor": "jarys"})
    assert by_organiser.text.count("<tr>") == 2 and "certificate.revoked" in by_organiser.text
    assert client.get("/kk/admin/audit", params={"actor": str(logged["jarys"])}).text.count("<tr>") == 2
    assert client.get("/kk/admin/audit", params={"action": "certificate.revoked"}).text.count("<tr>") == 2
    assert client.get("/kk/admin/audit", params={"affected": "mugalim"}).text.count("<tr>") == 0
    assert client.get("/kk/admin/audit", params={"actor": "nobody-at-all"}).text.count("<tr>") == 0
    old_day = (utcnow() - timedelta(days=40)).date().isoformat()
    dated = client.get("/kk/admin/audit", params={"since": old_day, "until": old_day})
    assert dated.text.count("<tr>") == 2 and "certificate.revoked" in dated.text
    fragment = client.get("/kk/admin/audit", params={"action": "user.role_set"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="audit-table"' in fragment.text
    bad = client.get("/kk/admin/audit", params={"since": "yesterday"})
    assert bad.status_code == 200 and "ЖЖЖЖ-АА-КК" in bad.text


def test_the_api_gives_admins_the_same_log(client, logged, people):
    response = client.get("/api/v1/admin/audit", params={"actor_id": logged["jarys"]}, headers=people["boss"])
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1 and body["pages"] == 1
    event = body["events"][0]
    assert (event["action"], event["actor_username"], event["actor_role"], event["affected_username"]) == (
        "certificate.revoked", "jarys", "organiser", "okushy")
    assert event["detail"] == {"reason": "Қате"}
    page_two = client.get("/api/v1/admin/audit", params={"action": "user.role_set", "page": 2}, headers=people["boss"])
    assert (page_two.json()["total"], len(page_two.json()["events"])) == (55, 5)
    assert client.get("/api/v1/admin/audit", params={"action": "no.such"}, headers=people["boss"]).status_code == 422


@pytest.mark.parametrize("who", ["okushy", "mugalim", "jarys"])
def test_nobody_but_admins_reads_the_log(client, logged, people, who):
    assert client.get("/api/v1/admin/audit", headers=people[who]).status_code == 403
    sign_in(client, who)
    page = client.get("/kk/admin/audit")
    assert page.status_code == 403 and "user.role_set" not in page.text


def test_anonymous_visitors_are_sent_to_sign_in(client, logged):
    client.cookies.clear()
    assert client.get("/api/v1/admin/audit").status_code == 401
    page = client.get("/kk/admin/audit", follow_redirects=False)
    assert page.status_code == 303 and "/kk/login" in page.headers["location"]


def test_download_my_data_holds_what_was_done_to_me_and_what_i_did(client, logged, people):
    learner = client.get("/api/v1/me/export", headers=people["okushy"]).json()
    assert len(learner["audit_about_me"]) == 56 and learner["audit_my_actions"] == []
    assert {"actor_id", "request_id"}.isdisjoint(learner["audit_about_me"][0])  # the role, not the staff member
    assert {e["actor_role"] for e in learner["audit_about_me"]} == {"admin", "organiser"}
    organiser = client.get("/api/v1/me/export", headers=people["jarys"]).json()
    [mine] = organiser["audit_my_actions"]
    assert mine["action"] == "certificate.revoked" and {"affected_user_id", "detail"}.isdisjoint(mine)
    assert organiser["audit_about_me"] == []
