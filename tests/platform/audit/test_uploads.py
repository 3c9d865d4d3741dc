"""Every upload is checked for size and type before it is read (`platform.files.read_upload`): too large is
a 413, not a text file (or a workbook instead of its CSV) a 422, each with a message in the person's language,
and the refused file is kept with its reason where that upload keeps refused files. One table of every route
that takes a file; a test fails when a route takes a file and is not in it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as attribute
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import select

from gennation.platform import files
from gennation.platform.accounts.models import Role, User
from gennation.platform.database import utcnow
from gennation.platform.institutions.models import Coordinator, Institution, InstitutionKind
from gennation.tournament.models import StageKind, StageStatus
from tests.certificates.conftest import promote
from tests.conftest import api_token, sign_in
from tests.tournament import builders

TEACHER = {"role": "teacher", "category": "adult", "school_grade": ""}
CIVIL = {"role": "civil_servant", "category": "civil_servant", "school_grade": ""}
SMALL = 2000  # every limit, for these tests
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 64
BINARY = b"id;name\n" + bytes(range(32)) * 4  # no known signature: bytes no text file holds
XLSX = b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml" + b"\x00" * 40


@dataclass
class Upload:
    name: str
    url: str  # {class}, {agency}, {task}, {stage}, {draft} filled from the world
    who: str
    field: str = "file"
    form: dict = attribute(default_factory=dict)
    others: dict = attribute(default_factory=dict)  # the other files the form needs
    extension: str = ".csv"
    refused_in: str = "imports"

    @property
    def api(self) -> bool:
        return self.url.startswith("/api/")


PRACTICAL = {"category": "grades-5-8", "title_kk": "Автобус", "title_ru": "Автобус", "metric": "accuracy",
             "id_column": "id", "target_column": "late", "classes": "yes, no", "daily_limit": "3", "total_limit": "20"}
GOOD_CSV = b"id,late\nb001,yes\n"
UPLOADS = [
    Upload("directory", "/kk/admin/institutions/check", "boss"),
    Upload("roster", "/kk/classes/{class}/roster/check", "mugalim", refused_in="imports/rosters"),
    Upload("staff page", "/kk/agencies/{agency}/staff/check", "kadrlar"),
    Upload("staff api", "/api/v1/agencies/{agency}/staff", "kadrlar"),
    Upload("population", "/kk/admin/indicators/population/check", "boss", refused_in="imports/population"),
    Upload("entry api", "/api/v1/tournament/tasks/{task}/entries", "pupil", refused_in="tournament/refused"),
    Upload("entry page", "/kk/tournament/tasks/{task}/entries", "pupil", refused_in="tournament/refused"),
    Upload("task api", "/api/v1/tournament/stages/{draft}/tasks", "jarys", "train", PRACTICAL,
           {"test": GOOD_CSV, "labels": GOOD_CSV}, refused_in="tournament/refused"),
    Upload("rescore api", "/api/v1/tournament/tasks/{task}/rescore", "jarys", "labels", refused_in="tournament/refused"),
    Upload("task console", "/kk/tournament/console/stages/{draft}/practical/new", "jarys", "train", PRACTICAL,
           {"test": GOOD_CSV, "labels": GOOD_CSV}, refused_in="tournament/refused"),
    Upload("quiz console", "/kk/tournament/console/stages/{draft}/quiz/new", "jarys", "bank_kk",
           {"category": "grades-5-8", "title_kk": "Викторина", "title_ru": "Викторина", "draw": "5", "minutes": "10"},
           {"bank_ru": b"[]\n"}, ".yaml", "tournament/refused"),
]


@pytest.fixture
def world(client, session, settings, monkeypatch) -> dict:
    monkeypatch.setattr(files, "LIMITS", {name: SMALL for name in files.LIMITS})
    headers = {name: api_token(client, name, **fields) for name, fields in (
        ("boss", {}), ("mugalim", TEACHER), ("kadrlar", CIVIL), ("jarys", {}), ("pupil", {"school_grade": "7"}))}
    promote(session, "boss", Role.admin)
    promote(session, "jarys", Role.organiser)
    teacher = session.exec(select(User).where(User.username == "mugalim")).one()
    teacher.teacher_confirmed_at = utcnow()
    agency = Institution(name="Министрлік", name_ru="Министерство", kind=InstitutionKind.state_body, region="astana")
    session.add_all([teacher, agency])
    session.flush()
    hr = session.exec(select(User).where(User.username == "kadrlar")).one()
    hr.institution_id = agency.id
    session.add_all([hr, Coordinator(institution_id=agency.id, user_id=hr.id)])
    made = builders.season(session, settings.var_dir)
    draft = builders.stage(session, made["season"], 2, StageKind.regional, utcnow() + timedelta(days=2), StageStatus.draft)
    task = made["practical"]["grades-5-8"]
    task.max_file_bytes = SMALL
    session.add(task)
    session.commit()
    classroom = client.post("/api/v1/classes", json={"name": "5 «А»"}, headers=headers["mugalim"]).json()["id"]
    registered = client.post("/api/v1/tournament/seasons/test-season/registration", json={"category": "grades-5-8"},
                             headers=headers["pupil"])
    assert registered.status_code == 201, registered.text
    return {"headers": headers, "class": classroom, "agency": agency.id, "task": task.public_id, "draft": draft.id}


def _send(client, world, upload: Upload, name: str, data: bytes):
    url = upload.url.format(**{k: world[k] for k in ("class", "agency", "task", "draft")})
    sent = {upload.field: (name, data), **{k: (f"{k}{upload.extension}", v) for k, v in upload.others.items()}}
    if upload.api:
        return client.post(url, data=upload.form, files=sent, headers=world["headers"][upload.who])
    token = sign_in(client, upload.who)
    return client.post(url, data={"csrf_token": token, **upload.form}, files=sent, follow_redirects=False)


def _reasons(settings, upload: Upload) -> list[str]:
    folder = settings.var_dir / upload.refused_in
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.refused.tsv"))] if folder.is_dir() else []


@pytest.mark.parametrize("upload", UPLOADS, ids=[u.name for u in UPLOADS])
def test_a_file_over_the_limit_is_refused_with_413_before_it_is_read(client, settings, world, upload):
    response = _send(client, world, upload, f"big{upload.extension}", b"a,b\n" + b"1,2\n" * SMALL)
    assert response.status_code == 413, response.text[:300]
    assert "тым үлкен" in response.text  # in Kazakh: "the file is too large"
    [reason] = _reasons(settings, upload)
    assert "too large" in reason and f"big{upload.extension}" in reason
    assert not list((settings.var_dir / upload.refused_in).glob("*.refused"))  # not read, so not kept


@pytest.mark.parametrize("upload", UPLOADS, ids=[u.name for u in UPLOADS])
@pytest.mark.parametrize(("data", "words"), [(BINARY, "мәтін файлында болмайтын"), (XLSX, "Excel (.xlsx)"),
                                             (PNG, "PNG файлы")], ids=["binary", "workbook", "image"])
def test_a_file_that_is_not_text_is_refused_before_it_is_parsed(client, settings, world, upload, data, words):
    response = _send(client, world, upload, f"list{upload.extension}", data)
    assert response.status_code == 422, response.text[:300]
    assert words in response.text
    [reason] = _reasons(settings, upload)
    assert f"list{upload.extension}" in reason
    [kept] = list((settings.var_dir / upload.refused_in).glob("*.refused"))
    assert kept.read_bytes() == data


@pytest.mark.parametrize("upload", [u for u in UPLOADS if u.name in ("directory", "entry api", "quiz console")],
                         ids=lambda u: u.name)
def test_a_file_with_another_extension_is_refused(client, settings, world, upload):
    response = _send(client, world, upload, "list.exe", b"a,b\n1,2\n")
    assert response.status_code == 422 and upload.extension in response.text


def test_the_russian_message_says_the_same(client, world):
    response = client.post(f"/api/v1/agencies/{world['agency']}/staff", files={"file": ("big.csv", b"x" * (SMALL + 1))},
                           headers={**world["headers"]["kadrlar"], "Accept-Language": "ru"})
    assert response.status_code == 413 and "слишком большой" in response.json()["detail"]


def test_text_in_windows_1251_passes_the_check():
    assert files.sniff("ФИО;Подразделение\nИванов;Бухгалтерия\n".encode("cp1251"), files.CSV) is None
    assert files.sniff("аты-жөні\nӘлия\n".encode("utf-8-sig"), files.CSV) is None
    assert files.sniff(b"name\n\x00\x01", files.CSV) is not None
    assert files.sniff(PNG, files.PNG) is None and files.sniff(b"a,b", files.PNG) is not None


def test_every_route_that_takes_a_file_is_in_the_table(app):
    """A new upload route fails here until it is added above (and so reads its file through read_upload)."""
    routes = {context.path for context in iter_route_contexts(app.routes) if isinstance(context.original_route, APIRoute)
              and set(context.methods) & {"POST", "PUT"} and _takes_a_file(context.original_route)}
    templates = {re.sub(r"/(practical|quiz)/new$", "/{x}/new", u.url).replace("/kk/", "/{lang}/") for u in UPLOADS}
    named = {re.sub(r"\{[a-z_]+\}", "{x}", path) for path in routes}
    assert named == {re.sub(r"\{[a-z_]+\}", "{x}", t) for t in templates}


def _takes_a_file(route: APIRoute) -> bool:
    import inspect
    source = inspect.getsource(route.endpoint)
    return "UploadFile" in source or "read_upload" in source or "_upload(" in source or 'get("file")' in source
