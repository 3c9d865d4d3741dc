"""Teachers are vouched for (#9), tested as the attack: anyone can register as a teacher, so a teacher
sees learners' data only once confirmed, only from after a learner joined, and nothing once they left.
(Tutor conversations are stored directly: no model is needed.)"""
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from gennation.platform import cli
from gennation.platform.accounts.models import Role, User
from gennation.platform.accounts.service import set_role
from gennation.platform.i18n import gettext
from gennation.platform.institutions import service
from gennation.platform.institutions.models import Institution
from gennation.tutor.models import AnswerKind, Conversation, TutorMessage
from tests.conftest import REGISTRATION, csrf_of, register

TEACHER = {"role": "teacher", "category": "adult", "school_grade": ""}


def user(session, username: str) -> User:
    session.expire_all()  # see what the requests committed
    return session.exec(select(User).where(User.username == username)).one()


def sign_in(client, username: str, lang: str = "kk") -> str:
    """Sign in through the form; returns a CSRF token of the new session."""
    client.cookies.clear()
    token = csrf_of(client.get(f"/{lang}/login").text)
    client.post(f"/{lang}/login", data={"csrf_token": token, "username": username,
                                        "password": REGISTRATION["password"]})
    return csrf_of(client.get(f"/{lang}/classes").text)


def bearer(client, username: str) -> dict:
    """An API token for `username`; the client's browser sign-in is kept (API clients send no cookie)."""
    kept = dict(client.cookies)
    client.cookies.clear()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": REGISTRATION["password"]})
    assert response.status_code == 200, response.text
    client.cookies.update(kept)
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def chat(session, learner_id: int, question: str) -> TutorMessage:
    """One question to the tutor and its answer, as the tutor stores them."""
    conversation = Conversation(user_id=learner_id, course="test-course", lesson="first-steps")
    session.add(conversation)
    session.commit()
    asked = TutorMessage(conversation_id=conversation.id, role="learner", text=question, lang="kk")
    session.add(asked)
    session.commit()
    reply = TutorMessage(conversation_id=conversation.id, role="tutor", reply_to_id=asked.id, lang="kk",
                         text="Бұл — сабақтағы жауап.", kind=AnswerKind.answer)
    session.add(reply)
    session.commit()
    return reply


def run_cli(monkeypatch, settings, *args: str, exit_code: int = 0):
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exit_code == exit_code, result.output
    return result


def join(client, code: str) -> None:
    token = csrf_of(client.get("/kk/classes").text)
    assert client.post("/kk/classes/join", data={"csrf_token": token, "code": code}).status_code == 200


@pytest.fixture
def schools(session):
    first = Institution(name="№ 12 мектеп-гимназия", kind="school", region="shymkent")
    second = Institution(name="№ 3 лицей", kind="school", region="astana")
    session.add_all([first, second])
    session.commit()
    return first, second


@pytest.fixture
def admin(client, session):
    register(client, "admin1", **TEACHER)
    set_role(session, "admin1", Role.admin)
    session.commit()
    client.cookies.clear()
    return bearer(client, "admin1")


def test_a_self_registered_teacher_sees_no_learner_data_until_an_admin_confirms(client, session, admin):
    register(client, "mugalim", **TEACHER)
    token = csrf_of(client.get("/kk/classes").text)
    client.post("/kk/classes", data={"csrf_token": token, "name": "9 «Б»"})  # preparing a class is allowed
    room = service.classes_taught(session, user(session, "mugalim"))[0]
    client.cookies.clear()
    register(client, "okushy")
    join(client, room.join_code)
    reply = chat(session, user(session, "okushy").id, "Менің атым Айгерім, жасанды интеллект деген не?")

    token = sign_in(client, "mugalim")
    classes = client.get("/kk/classes").text
    assert gettext("kk", service.AWAITING_CONFIRMATION) in classes and f"/classes/{room.id}/tutor" not in classes
    for lang in ("kk", "ru"):
        page = client.get(f"/{lang}/classes/{room.id}/tutor")
        assert page.status_code == 403 and "Айгерім" not in page.text
        assert gettext(lang, service.AWAITING_CONFIRMATION) in page.text
    correction = client.post(f"/kk/tutor/messages/{reply.id}/correction",
                             data={"csrf_token": token, "correction": "Қате жауап."})
    assert correction.status_code == 404

    confirmed = client.post(f"/api/v1/admin/teachers/{user(session, 'mugalim').id}/confirm", headers=admin)
    assert confirmed.status_code == 200 and confirmed.json()["teacher_confirmed_at"]
    page = client.get(f"/kk/classes/{room.id}/tutor")
    assert page.status_code == 200 and "Айгерім" in page.text
    assert gettext("kk", service.AWAITING_CONFIRMATION) not in client.get("/kk/classes").text


def test_only_admins_and_coordinators_may_confirm(client, session, admin, schools, monkeypatch, settings):
    register(client, "pending", **TEACHER, institution_id=str(schools[0].id))
    client.cookies.clear()
    register(client, "colleague", **TEACHER, institution_id=str(schools[0].id))
    run_cli(monkeypatch, settings, "users", "set-role", "colleague", "teacher")
    client.cookies.clear()
    register(client, "okushy")
    pending_id = user(session, "pending").id

    assert client.get("/api/v1/admin/teachers").status_code in (401, 403)  # the learner's cookie, no token
    for username in ("okushy", "pending", "colleague"):  # a learner, the teacher themself, a plain confirmed teacher
        headers = bearer(client, username)
        assert client.get("/api/v1/admin/teachers", headers=headers).status_code == 403
        assert client.post(f"/api/v1/admin/teachers/{pending_id}/confirm", headers=headers).status_code == 403
    client.cookies.clear()
    assert client.post(f"/api/v1/admin/teachers/{pending_id}/confirm").status_code == 401
    sign_in(client, "colleague")
    assert client.get("/kk/admin/teachers").status_code == 403
    assert user(session, "pending").teacher_confirmed_at is None

    listed = client.get("/api/v1/admin/teachers", headers=admin).json()
    assert [(t["username"], t["institution"]) for t in listed] == [("pending", schools[0].name)]
    token = sign_in(client, "admin1")
    page = client.get("/kk/admin/teachers")
    assert page.status_code == 200 and "pending" in page.text
    assert client.post(f"/kk/admin/teachers/{pending_id}/confirm").status_code == 403  # no CSRF token
    assert user(session, "pending").teacher_confirmed_at is None
    done = client.post(f"/kk/admin/teachers/{pending_id}/confirm", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and user(session, "pending").teacher_confirmed_at is not None
    assert client.get("/api/v1/admin/teachers", headers=admin).json() == []
    assert client.post(f"/api/v1/admin/teachers/{user(session, 'okushy').id}/confirm", headers=admin).status_code == 404


def test_a_coordinator_confirms_the_teachers_of_their_own_institution_only(client, session, admin, schools,
                                                                           monkeypatch, settings):
    first, second = schools
    for username, school in (("coordinator", first), ("ours", first), ("theirs", second)):
        client.cookies.clear()
        register(client, username, **TEACHER, institution_id=str(school.id))
    token = sign_in(client, "admin1")
    refused = client.post(f"/ru/admin/teachers/{user(session, 'coordinator').id}/coordinator",
                          data={"csrf_token": token})
    assert refused.status_code == 422  # not confirmed yet
    assert gettext("ru", "Only a confirmed teacher with an institution can coordinate it.") in refused.text
    run_cli(monkeypatch, settings, "users", "set-role", "coordinator", "teacher")
    appointed = client.post(f"/kk/admin/teachers/{user(session, 'coordinator').id}/coordinator",
                            data={"csrf_token": token}, follow_redirects=False)
    assert appointed.status_code == 303

    headers = bearer(client, "coordinator")
    assert [t["username"] for t in client.get("/api/v1/admin/teachers", headers=headers).json()] == ["ours"]
    theirs, ours = user(session, "theirs"), user(session, "ours")
    assert client.post(f"/api/v1/admin/teachers/{theirs.id}/confirm", headers=headers).status_code == 404
    assert client.post(f"/api/v1/admin/teachers/{ours.id}/confirm", headers=headers).status_code == 200
    assert user(session, "ours").teacher_confirmed_at is not None
    assert user(session, "theirs").teacher_confirmed_at is None
    sign_in(client, "coordinator")
    assert "/kk/admin/teachers" in client.get("/kk/classes").text
    plain_teacher = bearer(client, "ours")
    assert client.post(f"/api/v1/admin/teachers/{theirs.id}/confirm", headers=plain_teacher).status_code == 403


def test_an_operator_confirms_a_teacher_with_set_role(client, session, monkeypatch, settings):
    register(client, "mugalim", **TEACHER)
    assert user(session, "mugalim").teacher_confirmed_at is None
    assert "confirmed" in run_cli(monkeypatch, settings, "users", "set-role", "mugalim", "teacher").output
    assert service.is_confirmed_teacher(user(session, "mugalim"))
    run_cli(monkeypatch, settings, "users", "set-role", "nobody", "teacher", exit_code=1)


def test_a_teacher_sees_only_what_a_learner_asked_after_joining(client, session, monkeypatch, settings):
    register(client, "mugalim", **TEACHER)
    run_cli(monkeypatch, settings, "users", "set-role", "mugalim", "teacher")
    room = service.open_class(session, user(session, "mugalim"), "10 «А»")
    session.commit()
    client.cookies.clear()
    register(client, "okushy")
    learner_id = user(session, "okushy").id
    before = chat(session, learner_id, "Жеке сұрағым: менің бағаларым нашар")
    join(client, room.join_code)
    after = chat(session, learner_id, "Нейрондық желі қалай үйренеді?")

    token = sign_in(client, "mugalim")
    page = client.get(f"/kk/classes/{room.id}/tutor").text
    assert "Нейрондық желі қалай үйренеді?" in page and "менің бағаларым нашар" not in page
    assert client.post(f"/kk/tutor/messages/{before.id}/correction",
                       data={"csrf_token": token, "correction": "Түзету"}).status_code == 404
    assert client.post(f"/kk/tutor/messages/{after.id}/correction",
                       data={"csrf_token": token, "correction": "Түзету"}).status_code == 200


def test_a_learner_leaves_and_the_teacher_sees_nothing_more(client, session, monkeypatch, settings):
    register(client, "mugalim", **TEACHER)
    run_cli(monkeypatch, settings, "users", "set-role", "mugalim", "teacher")
    room = service.open_class(session, user(session, "mugalim"), "11 «В»")
    session.commit()
    client.cookies.clear()
    register(client, "okushy")
    join(client, room.join_code)
    chat(session, user(session, "okushy").id, "Ашық деректер деген не?")

    for lang in ("kk", "ru"):
        mine = client.get(f"/{lang}/classes").text
        assert gettext(lang, "Leave this class") in mine and "11 «В»" in mine
        assert gettext(lang, "The teacher of a class sees the questions you ask the AI tutor after you joined the "
                             "class, with the tutor's answers and your ratings, and can correct an answer. The teacher "
                             "does not see what you asked before joining, your password or your quiz answers. If you "
                             "leave the class, the teacher sees nothing more of you.") in mine
    token = csrf_of(mine)
    assert client.post(f"/kk/classes/{room.id}/leave").status_code == 403  # no CSRF token
    left = client.post(f"/kk/classes/{room.id}/leave", data={"csrf_token": token}, follow_redirects=False)
    assert left.status_code == 303 and "11 «В»" not in client.get("/kk/classes").text
    assert client.post(f"/kk/classes/{room.id}/leave", data={"csrf_token": token}).status_code == 404

    join(client, room.join_code)  # back in: what was asked before stays hidden
    headers = bearer(client, "okushy")
    sign_in(client, "mugalim")
    assert "Ашық деректер деген не?" not in client.get(f"/kk/classes/{room.id}/tutor").text
    chat(session, user(session, "okushy").id, "Модель деген не?")
    assert "Модель деген не?" in client.get(f"/kk/classes/{room.id}/tutor").text
    assert client.delete(f"/api/v1/classes/{room.id}/membership", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/classes/{room.id}/membership", headers=headers).status_code == 404
    page = client.get(f"/kk/classes/{room.id}/tutor").text
    assert "Модель деген не?" not in page and service.members(session, room) == []


def test_a_confirmed_teacher_who_moves_to_another_institution_must_be_confirmed_again(session):
    from gennation.platform.accounts.schemas import ProfileIn, RegistrationIn
    from gennation.platform.accounts.service import register as register_account, update_profile
    first = Institution(name="№ 1 мектеп", kind="school", region="astana")
    second = Institution(name="№ 2 мектеп", kind="school", region="astana")
    session.add_all([first, second])
    session.flush()
    teacher = register_account(session, RegistrationIn(**{**REGISTRATION, **TEACHER}, username="mover", language="kk",
                                                       institution_id=first.id))
    service.confirm_teacher(session, teacher.id, by=None)
    profile = {"display_name": teacher.display_name, "region": teacher.region, "category": teacher.category.value,
               "language": "kk"}
    update_profile(session, teacher, ProfileIn(**profile, institution_id=first.id))
    assert teacher.teacher_confirmed_at is not None  # the same institution: still confirmed
    update_profile(session, teacher, ProfileIn(**profile, institution_id=second.id))
    assert teacher.teacher_confirmed_at is None and not service.is_confirmed_teacher(teacher)
