"""A learner who completed the fixture course through the API, and an admin."""
from __future__ import annotations

import pytest
from sqlmodel import select

from gennation.platform.accounts.models import Role, User
from tests.conftest import api_token
from tests.courses.answering import complete_test_course

HOLDER = "Әлия Нұрғалиқызы Сәрсенбаева"


def promote(session, username: str, role: Role) -> None:
    user = session.exec(select(User).where(User.username == username)).one()
    user.role = role
    session.add(user)
    session.commit()


@pytest.fixture
def holder(client, loaded) -> dict:
    """Bearer headers of a learner with a Kazakh name who has completed the course."""
    headers = api_token(client, "certified", display_name=HOLDER, language="kk")
    complete_test_course(client, loaded, headers)
    return headers


@pytest.fixture
def admin(client, session) -> dict:
    headers = api_token(client, "registrar")
    promote(session, "registrar", Role.admin)
    return headers


@pytest.fixture
def certificate_id(client, holder) -> str:
    mine = client.get("/api/v1/me/certificates", headers=holder).json()
    assert len(mine) == 1, mine
    return mine[0]["id"]
