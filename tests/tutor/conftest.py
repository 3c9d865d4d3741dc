"""The tutor's tests run the real default model (make test assembles it into var/models/)."""
from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from gennation.courses.service import load_courses
from gennation.courses.source import read_all
from gennation.platform.accounts.schemas import RegistrationIn
from gennation.platform.accounts.service import register
from gennation.platform.app import create_app
from gennation.platform.db_migrations import upgrade
from gennation.platform.settings import ROOT, Settings
from gennation.tutor.engine import EmbeddedBackend
from gennation.tutor.service import TutorRuntime
from tests.conftest import REGISTRATION

CONTENT = ROOT / "courses" / "content"
MODEL = Settings(var_dir=ROOT / "var").resolved().tutor_model_path


@pytest.fixture(scope="session")
def tutor_backend():
    """One loaded model for the whole run, as in the embedded mode."""
    if not MODEL.is_file():
        pytest.fail(f"the tutor model is missing at {MODEL}: run `make model` (make test does)")
    backend = EmbeddedBackend(MODEL)
    backend.start()
    assert backend.wait_ready(), backend.status
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def content_template(tmp_path_factory):
    """A migrated SQLite database with the real courses loaded, copied for each test."""
    path = tmp_path_factory.mktemp("tutor-db") / "content.db"
    upgrade(f"sqlite:///{path}")
    from gennation.platform.database import Database
    database = Database(f"sqlite:///{path}")
    courses, _glossary, errors = read_all(CONTENT)
    assert errors == []
    with database.unit_of_work() as session:
        load_courses(session, courses)
    database.dispose()
    return path


@pytest.fixture
def tutor_settings(content_template, tmp_path):
    shutil.copy(content_template, tmp_path / "content.db")
    return Settings(database_url=f"sqlite:///{tmp_path / 'content.db'}", secret_key="t" * 40, var_dir=tmp_path,
                    content_dir=CONTENT, tutor_model_path=MODEL).resolved()


@pytest.fixture
def tutor_app(tutor_settings, tutor_backend):
    app = create_app(tutor_settings)
    app.state.tutor = TutorRuntime(tutor_backend, CONTENT, owns_backend=False)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def runtime(tutor_app):
    return tutor_app.state.tutor


@pytest.fixture
def db(tutor_app):
    return tutor_app.state.db


@pytest.fixture
def session(db):
    with db.session() as session:
        yield session


@pytest.fixture
def learner(db):
    with db.unit_of_work() as session:
        return register(session, RegistrationIn(username="learner", language="kk", **REGISTRATION))


@pytest.fixture
def tutor_client(tutor_app):
    with TestClient(tutor_app) as client:
        yield client


@pytest.fixture
def tutor_server(tutor_app):
    from tests.browser import serve
    with serve(tutor_app) as base:
        yield base
