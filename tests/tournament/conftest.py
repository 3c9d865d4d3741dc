"""A small season, loaded into the test database, and participants signed in through the API."""
from __future__ import annotations

import pytest

from gennation.platform.accounts.models import Role
from tests.certificates.conftest import promote
from tests.conftest import api_token
from tests.tournament import builders


@pytest.fixture
def small_season(session, settings) -> dict:
    made = builders.season(session, settings.var_dir)
    session.commit()
    return made


@pytest.fixture
def pupil(client, small_season) -> dict:
    """Bearer headers of a 7th-grader registered for the grades 5-8 category."""
    headers = api_token(client, "pupil", school_grade="7", region="turkistan")
    response = client.post("/api/v1/tournament/seasons/test-season/registration", json={"category": "grades-5-8"},
                           headers=headers)
    assert response.status_code == 201, response.text
    return headers


@pytest.fixture
def organiser(client, session) -> dict:
    headers = api_token(client, "organiser")
    promote(session, "organiser", Role.organiser)
    return headers
