"""The join link and its QR code: a learner opens the link (after signing in), sees which class it is
and what the teacher will see, and joins; the QR code, read back by zbarimg, holds exactly that link."""
import shutil
import subprocess

import pytest

from tests.conftest import csrf_of, register
from tests.platform.institutions.test_assignments import account


@pytest.fixture
def made(client, session):
    teacher = account(client, "qr-mugalim", teacher=True, session=session)
    created = client.post("/api/v1/classes", headers=teacher, json={"name": "7 «Ә»", "language": "kk"}).json()
    return teacher, created


def test_the_join_link_asks_to_sign_in_then_shows_the_class_and_joins(client, made):
    _teacher, created = made
    link = f"/kk/join/{created['join_code']}"
    assert client.get(link, follow_redirects=False).headers["location"] == f"/kk/login?next={link}"
    register(client, "link-pupil")
    page = client.get(link)
    assert page.status_code == 200 and "«7 «Ә»» сыныбы" in page.text and "одан бұрынғысын ешқашан көрмейді" in page.text
    joined = client.post("/kk/classes/join", data={"csrf_token": csrf_of(page.text), "code": created["join_code"]},
                         follow_redirects=False)
    assert joined.status_code == 303
    assert "7 «Ә»" in client.get("/kk/classes").text


def test_a_wrong_join_link_says_why_in_the_learners_language(client, made):
    register(client, "lost-pupil", lang="ru")
    wrong = client.get("/ru/join/NOPE42")
    assert wrong.status_code == 404 and "Класса с таким кодом нет" in wrong.text


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools is not installed (make test installs it)")
def test_the_qr_code_holds_the_join_link_and_only_its_teacher_gets_it(client, session, made, tmp_path):
    teacher, created = made
    image = client.get(f"/kk/classes/{created['id']}/join-code.png", headers=teacher)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    (tmp_path / "qr.png").write_bytes(image.content)
    read = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "qr.png")], capture_output=True, text=True)
    assert read.stdout.strip() == f"http://testserver/kk/join/{created['join_code']}"
    stranger = account(client, "other-mugalim", teacher=True, session=session)
    assert client.get(f"/kk/classes/{created['id']}/join-code.png", headers=stranger).status_code == 404
