"""'Download my data' comes from one registry, and the registry covers every table that refers to a person."""
from gennation.platform import personal_data
from gennation.platform.tables import metadata
from gennation.tutor.models import AnswerKind, Conversation, TutorMessage
from tests.conftest import api_token

PERSON_COLUMNS = {"user_id", "teacher_id", "username"}


def test_every_table_that_refers_to_a_person_is_in_the_registry():
    registered = {holding.model.__tablename__ for holding in personal_data.holdings()}
    refers = {table.name for table in metadata.sorted_tables
              if any(fk.column.table.name == "user" for fk in table.foreign_keys)
              or PERSON_COLUMNS & {column.name for column in table.columns}}
    refers.add("tutormessage")  # reaches the person through its conversation
    assert refers - registered == set()
    assert {"conversation", "tutormessage", "answerrating", "classmember", "coursecompletion"} <= registered


def test_the_export_holds_the_tutor_conversations_ratings_and_classes(client, session):
    headers = api_token(client, "exporter")
    user_id = client.get("/api/v1/me", headers=headers).json()["id"]
    conversation = Conversation(user_id=user_id, course="test-course", lesson="first-steps")
    session.add(conversation)
    session.flush()
    question = TutorMessage(conversation_id=conversation.id, role="learner", text="Деректер деген не?", lang="kk")
    session.add(question)
    session.flush()
    session.add(TutorMessage(conversation_id=conversation.id, role="tutor", reply_to_id=question.id, lang="kk",
                             text="Деректер — мәліметтер.", kind=AnswerKind.answer))
    session.commit()
    exported = client.get("/api/v1/me/export", headers=headers).json()
    assert exported["profile"]["username"] == "exporter" and "password_hash" not in exported["profile"]
    assert [m["text"] for m in exported["tutor_messages"]] == ["Деректер деген не?", "Деректер — мәліметтер."]
    assert exported["tutor_conversations"][0]["lesson"] == "first-steps"
    assert set(exported) == {holding.name for holding in personal_data.holdings()}
