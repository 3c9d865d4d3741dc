"""People stay in charge: teachers correct tutor answers of their class, admins see the ratings.
(Stored conversations are made directly here: no model is needed for this.)"""
import re

import pytest

from gennation.platform.accounts.models import Role
from gennation.platform.accounts.service import set_role
from gennation.platform.errors import NotFound
from gennation.platform.institutions.service import confirm_teacher, join_class, open_class
from gennation.tutor import service
from gennation.tutor.models import AnswerKind, Conversation, TutorMessage
from tests.conftest import csrf_of, register


def exchange(session, user_id, question="Нейрон деген не?", answer="Нейрон — кішкентай шешім қабылдаушы."):
    conversation = Conversation(user_id=user_id, course="ai-basics-school", lesson="artificial-neuron")
    session.add(conversation)
    session.commit()
    asked = TutorMessage(conversation_id=conversation.id, role="learner", text=question, lang="kk")
    session.add(asked)
    session.commit()
    reply = TutorMessage(conversation_id=conversation.id, role="tutor", reply_to_id=asked.id, text=answer,
                         lang="kk", kind=AnswerKind.answer)
    session.add(reply)
    session.commit()
    return reply


@pytest.fixture
def classroom(tutor_client, session):
    register(tutor_client, "teacher1", role="teacher")
    teacher = confirm_teacher(session, set_role(session, "teacher1", Role.teacher).id, by=None)
    session.commit()  # the role change and its audit row: SQLite lets one writer at a time
    tutor_client.cookies.clear()
    register(tutor_client, "pupil1")
    from sqlmodel import select
    from gennation.platform.accounts.models import User
    pupil = session.exec(select(User).where(User.username == "pupil1")).one()
    room = open_class(session, teacher, "7А")
    join_class(session, pupil, room.join_code)
    session.commit()
    return room, teacher, pupil


def sign_in(client, username, lang="kk"):
    client.cookies.clear()
    token = csrf_of(client.get(f"/{lang}/login").text)
    client.post(f"/{lang}/login", data={"csrf_token": token, "username": username,
                                        "password": "correct horse 42"})


def test_teacher_corrects_an_answer_and_the_learner_sees_it(tutor_client, session, classroom):
    room, teacher, pupil = classroom
    reply = exchange(session, pupil.id)
    sign_in(tutor_client, "teacher1")
    page = tutor_client.get(f"/kk/classes/{room.id}/tutor")
    assert page.status_code == 200 and "Нейрон деген не?" in page.text
    response = tutor_client.post(f"/kk/tutor/messages/{reply.id}/correction", headers={"HX-Request": "true"},
                                 data={"csrf_token": csrf_of(page.text), "correction": "Нейрон кірістерді өлшеп қосады."})
    assert response.status_code == 200 and "Нейрон кірістерді өлшеп қосады." in response.text
    sign_in(tutor_client, "pupil1")
    panel = tutor_client.get("/kk/tutor?course=ai-basics-school&lesson=artificial-neuron").text
    assert 'class="notice correction"' in panel and "Нейрон кірістерді өлшеп қосады." in panel


def test_a_teacher_cannot_correct_learners_outside_their_classes(tutor_client, session, classroom):
    room, teacher, pupil = classroom
    register(tutor_client, "stranger")
    from sqlmodel import select
    from gennation.platform.accounts.models import User
    stranger = session.exec(select(User).where(User.username == "stranger")).one()
    reply = exchange(session, stranger.id)
    with pytest.raises(NotFound):
        service.correct(session, teacher, reply.id, "Қате")
    sign_in(tutor_client, "pupil1")
    assert tutor_client.get(f"/kk/classes/{room.id}/tutor").status_code == 404


def test_admins_see_ratings_and_the_most_flagged_lessons(tutor_client, session, classroom):
    room, teacher, pupil = classroom
    first, second = exchange(session, pupil.id), exchange(session, pupil.id, "Салмақ деген не?")
    service.rate(session, pupil, first.id, helpful=False, comment="түсініксіз")
    service.rate(session, pupil, second.id, helpful=True)
    service.correct(session, teacher, second.id, "Салмақ — кірістің маңыздылығы.")
    session.commit()
    summary = service.oversight(session)
    assert (summary.helpful, summary.wrong, summary.corrected) == (1, 1, 1)
    assert summary.flagged_lessons == [("ai-basics-school", "artificial-neuron", 2)]
    sign_in(tutor_client, "teacher1")
    assert tutor_client.get("/kk/admin/tutor").status_code == 403
    set_role(session, "teacher1", Role.admin)
    session.commit()
    page = tutor_client.get("/ru/admin/tutor").text
    assert re.search(r"artificial-neuron</a></td><td>2</td>", page)


def test_a_teacher_never_sees_what_a_learner_asked_before_joining(tutor_client, session, classroom):
    room, teacher, pupil = classroom
    register(tutor_client, "latecomer")
    from sqlmodel import select
    from gennation.platform.accounts.models import User
    latecomer = session.exec(select(User).where(User.username == "latecomer")).one()
    before = exchange(session, latecomer.id, "Менің құпия сұрағым")
    join_class(session, latecomer, room.join_code)
    session.commit()
    after = exchange(session, latecomer.id, "Кейінгі сұрағым")
    with pytest.raises(NotFound):
        service.correct(session, teacher, before.id, "Қате")
    assert service.correct(session, teacher, after.id, "Түзету").message_id == after.id
    sign_in(tutor_client, "teacher1")
    page = tutor_client.get(f"/kk/classes/{room.id}/tutor").text
    assert "Кейінгі сұрағым" in page and "Менің құпия сұрағым" not in page
