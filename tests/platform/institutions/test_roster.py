"""Class rosters: a teacher uploads the class list (checked first, every bad row reported), new pupils get
accounts with first-time codes on a sheet printed once, pupils with accounts are invited, and a pupil
then signs in at /start with the code from the sheet and from then on with their own password."""
import re

import pytest
from sqlmodel import select

from gennation.platform.accounts.models import FirstTimeCode, User
from gennation.platform.i18n import gettext
from gennation.platform.institutions import roster
from gennation.platform.institutions.models import ClassInvitation, ClassMember
from tests.conftest import REGISTRATION, csrf_of
from tests.platform.institutions.test_assignments import account, no_inline_code

NEW_PASSWORD = "my own secret 7"
LIST = "аты-жөні;username\nӘлия Нұрғалиқызы;\nЕрлан Серікұлы;\nАйгерім Қасымова;okushy\n"


def sign_in(client, username: str, password: str = REGISTRATION["password"], lang: str = "kk"):
    client.cookies.clear()
    token = csrf_of(client.get(f"/{lang}/login").text)
    response = client.post(f"/{lang}/login", data={"csrf_token": token, "username": username, "password": password},
                           follow_redirects=False)
    assert response.status_code == 303, response.text[:300]


@pytest.fixture
def room(client, session) -> dict:
    teacher = account(client, "mugalim", teacher=True, session=session)
    created = client.post("/api/v1/classes", headers=teacher, json={"name": "5 «А»", "group": "5 А", "language": "kk"})
    assert created.status_code == 201, created.text
    return created.json()


def upload(client, room: dict, text: str | bytes, lang: str = "kk"):
    page = client.get(f"/{lang}/classes/{room['id']}/gradebook")
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    return client.post(f"/{lang}/classes/{room['id']}/roster/check", data={"csrf_token": csrf_of(page.text)},
                       files={"file": ("5a.csv", data, "text/csv")})


def import_checked(client, room: dict, checked_page, lang: str = "kk"):
    upload_id = re.search(r'name="upload" value="([0-9a-f]+)"', checked_page.text).group(1)
    return client.post(f"/{lang}/classes/{room['id']}/roster/import",
                       data={"csrf_token": csrf_of(checked_page.text), "upload": upload_id, "file_name": "5a.csv"})


def cards(sheet_html: str) -> dict[str, tuple[str, str]]:
    """{name: (username, code)} from the printed sheet."""
    found = re.findall(r'<p class="code-card-name">([^<]+)</p>.*?<dd><code>([^<]+)</code></dd>.*?'
                       r'<code class="code-card-code">([^<]+)</code>', sheet_html, re.S)
    return {name: (username, code) for name, username, code in found}


# ---------------------------------------------------------------- the dry run

def test_every_bad_row_is_reported_with_its_line_column_and_reason(session, client):
    account(client, "okushy")
    bad = ("ФИО,логин\n"
           "Әлия Нұрғалиқызы,\n"      # 2: fine
           ",\n"                       # 3: an empty line is skipped
           " ,nobody-else\n"           # 4: no name, unknown username
           "Ерлан,nobody-here\n"       # 5: unknown username
           "әлия  нұрғалиқызы,\n"      # 6: the same pupil as line 2
           + "А" * 81 + ",\n"          # 7: too long
           "Айгерім,OKUSHY\n"          # 8: fine (an existing account)
           "Айгерім Басқа,okushy\n")   # 9: the account of line 8 again
    checked = roster.check(session, bad.encode())
    assert not checked.clean
    assert [(e.line, e.column) for e in checked.errors] == [(4, "ФИО"), (4, "логин"), (5, "логин"), (6, "ФИО"),
                                                            (7, "ФИО"), (9, "логин")]
    assert checked.errors[3].values == {"line": 2} and checked.errors[5].values == {"line": 8}
    assert [p.line for p in checked.people] == [2, 8] and checked.people[1].username == "okushy"


def test_windows_1251_files_are_read_and_lost_kazakh_letters_are_reported(session):
    russian = roster.check(session, "ФИО;Отдел\nЩукина Жанна;Бухгалтерия\n".encode("cp1251"))
    assert russian.clean and russian.encoding == "cp1251"
    assert russian.people == [roster.Person(2, "Щукина Жанна", None, "Бухгалтерия")]
    # Excel saving Kazakh names as Windows-1251 writes "?" for ә, ұ, қ ...
    lost = roster.check(session, "ФИО\n?лия Н?р?алиқызы\n".encode("cp1251", errors="replace"))
    assert [(e.line, e.column) for e in lost.errors] == [(2, "ФИО")] and "CSV UTF-8" in lost.errors[0].message


def test_files_without_a_name_column_or_not_text_are_refused(session):
    assert roster.check(session, "email\na@b.kz\n".encode()).errors[0].message.startswith("The file has no column")
    assert roster.check(session, b"\x81\x98\xff" * 10).errors[0].message.startswith("The file is neither")
    assert roster.check(session, "name\n".encode()).errors[0].message == "The file has no rows."
    assert roster.check(session, "Name\nAliya\n".encode("utf-8-sig")).clean


def test_a_class_list_longer_than_a_class_is_refused(session, monkeypatch):
    monkeypatch.setattr(roster, "MAX_CLASS_PEOPLE", 2)
    checked = roster.check_class_list(session, "name\nӘлия\nЕрлан\nДана\n".encode())
    assert [(e.line, e.values) for e in checked.errors] == [(4, {"rows": 2})] and not checked.clean


# ---------------------------------------------------------------- the teacher's import, the sheet, /start

def test_a_clean_list_makes_accounts_in_the_class_prints_codes_once_and_reimporting_changes_nothing(
        client, session, room):
    account(client, "okushy")
    sign_in(client, "mugalim")
    page = client.get(f"/kk/classes/{room['id']}/gradebook")
    assert f"/kk/classes/{room['id']}/roster/check" in page.text
    checked = upload(client, room, LIST)
    assert checked.status_code == 200 and "Әлия Нұрғалиқызы" in checked.text
    sheet = import_checked(client, room, checked)
    assert sheet.status_code == 200 and sheet.headers["cache-control"] == "no-store"
    printed = cards(sheet.text)
    assert set(printed) == {"Әлия Нұрғалиқызы", "Ерлан Серікұлы"}
    assert "roster-sheet.css" in sheet.text and "http://testserver/kk/start" in sheet.text
    assert 'src="data:image/png;base64,' in sheet.text
    assert no_inline_code(sheet.text) == []
    aliya = session.exec(select(User).where(User.username == printed["Әлия Нұрғалиқызы"][0])).one()
    assert (aliya.category.value, aliya.school_grade, aliya.region, aliya.language) == ("school_student", 5, "shymkent", "kk")
    members = set(session.exec(select(ClassMember.user_id).where(ClassMember.classroom_id == room["id"])))
    assert aliya.id in members and len(members) == 2  # okushy is invited, not a member
    gradebook = client.get(f"/kk/classes/{room['id']}/gradebook").text
    assert "Ерлан Серікұлы" in gradebook and "okushy" not in gradebook

    users_before = len(session.exec(select(User)).all())
    again = import_checked(client, room, upload(client, room, LIST))
    assert again.status_code == 200 and cards(again.text) == {}
    assert gettext("kk", "Already in the class, not added again: %(names)s.",
                   names="Әлия Нұрғалиқызы, Ерлан Серікұлы") in again.text
    assert gettext("kk", "Already invited: %(names)s.", names="Айгерім Қасымова") in again.text
    session.expire_all()
    assert len(session.exec(select(User)).all()) == users_before
    assert len(session.exec(select(ClassInvitation)).all()) == 1


def test_a_bad_list_imports_nothing_shows_the_reasons_in_the_teachers_language_and_is_kept(client, session, room, settings):
    sign_in(client, "mugalim", lang="ru")
    refused = upload(client, room, "ФИО\n\u0020\nЕрлан\nЕрлан\n", lang="ru")
    assert refused.status_code == 422
    assert gettext("ru", "The same person is already on line %(line)s.", line=3) in refused.text
    assert 'name="upload"' not in refused.text
    kept = list((settings.var_dir / "imports" / "rosters").glob("*.refused.tsv"))
    assert len(kept) == 1 and "4\tФИО\tThe same person is already on line 3." in kept[0].read_text()
    assert session.exec(select(FirstTimeCode)).all() == []


def test_the_code_on_the_sheet_opens_the_account_at_start_and_the_pupil_then_signs_in(client, session, room):
    sign_in(client, "mugalim")
    printed = cards(import_checked(client, room, upload(client, room, "name\nЕрлан Серікұлы\n")).text)
    username, code = printed["Ерлан Серікұлы"]
    client.cookies.clear()
    assert "/kk/start" in client.get("/kk/login").text
    start = client.get(f"/kk/start?username={username}")
    assert start.status_code == 200 and f'value="{username}"' in start.text
    differ = client.post("/kk/start", data={"csrf_token": csrf_of(start.text), "username": username, "code": code,
                                            "password": NEW_PASSWORD, "password2": NEW_PASSWORD + "!"})
    assert differ.status_code == 422 and gettext("kk", "The two passwords are not the same.") in differ.text
    wrong = client.post("/kk/start", data={"csrf_token": csrf_of(start.text), "username": username, "code": "ZZZZ-ZZZZ",
                                           "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert wrong.status_code == 422 and f'value="{username}"' in wrong.text
    assert gettext("kk", "This username and first-time code do not match. Check them on your sheet, or ask the "
                         "person who gave it to you for a new code.") in wrong.text
    done = client.post("/kk/start", data={"csrf_token": csrf_of(start.text), "username": username, "code": code,
                                          "password": NEW_PASSWORD, "password2": NEW_PASSWORD}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/kk/"
    assert client.get("/api/v1/me").json()["username"] == username
    sign_in(client, username, NEW_PASSWORD)
    assert "Ерлан Серікұлы" in client.get("/kk/account").text


def test_new_codes_replace_the_lost_ones_of_pupils_who_have_not_signed_in(client, session, room):
    sign_in(client, "mugalim")
    first = cards(import_checked(client, room, upload(client, room, "name\nӘлия\nЕрлан\n")).text)
    aliya_name, aliya_code = first["Әлия"]
    client.cookies.clear()
    assert client.post("/api/v1/accounts/claim", json={"username": aliya_name, "code": aliya_code,
                                                       "password": NEW_PASSWORD}).status_code == 200
    sign_in(client, "mugalim")
    page = client.get(f"/kk/classes/{room['id']}/gradebook")
    reissued = client.post(f"/kk/classes/{room['id']}/roster/codes", data={"csrf_token": csrf_of(page.text)})
    assert reissued.status_code == 200
    second = cards(reissued.text)
    assert set(second) == {"Ерлан"} and second["Ерлан"][1] != first["Ерлан"][1]
    client.cookies.clear()
    old = client.post("/api/v1/accounts/claim", json={"username": first["Ерлан"][0], "code": first["Ерлан"][1],
                                                      "password": NEW_PASSWORD})
    assert old.status_code == 422
    new = client.post("/api/v1/accounts/claim", json={"username": second["Ерлан"][0], "code": second["Ерлан"][1],
                                                      "password": NEW_PASSWORD})
    assert new.status_code == 200 and new.json()["token_type"] == "bearer"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {new.json()['access_token']}"})
    assert me.json()["display_name"] == "Ерлан"


def test_the_api_claim_refuses_a_used_code_in_the_asked_language(client, session, room):
    sign_in(client, "mugalim")
    username, code = cards(import_checked(client, room, upload(client, room, "name\nӘлия\n")).text)["Әлия"]
    client.cookies.clear()
    body = {"username": username, "code": code, "password": NEW_PASSWORD}
    assert client.post("/api/v1/accounts/claim", json=body).status_code == 200
    again = client.post("/api/v1/accounts/claim?lang=ru", json=body)
    assert again.status_code == 422
    assert gettext("ru", "This first-time code has already been used. Sign in with the password you chose.") \
        in again.text


# ---------------------------------------------------------------- invitations

def test_an_invited_learner_accepts_or_declines_and_the_teacher_sees_them_only_after_accepting(client, session, room):
    account(client, "okushy")
    account(client, "ekinshi")
    sign_in(client, "mugalim")
    import_checked(client, room, upload(client, room, "name,username\nАйгерім,okushy\nДана,ekinshi\n"))
    assert "okushy" not in client.get(f"/kk/classes/{room['id']}/gradebook").text

    sign_in(client, "okushy")
    classes = client.get("/kk/classes")
    assert "5 «А»" in classes.text and gettext("kk", "Invitations to classes") in classes.text
    accept = re.search(r'action="(/kk/classes/invitations/\d+/accept)"', classes.text).group(1)
    assert client.post(accept, data={"csrf_token": csrf_of(classes.text)}, follow_redirects=False).status_code == 303
    assert gettext("kk", "Invitations to classes") not in client.get("/kk/classes").text

    sign_in(client, "ekinshi")
    classes = client.get("/kk/classes")
    decline = re.search(r'action="(/kk/classes/invitations/\d+/decline)"', classes.text).group(1)
    # Someone else's invitation cannot be answered.
    sign_in(client, "okushy")
    other = client.post(decline, data={"csrf_token": csrf_of(client.get("/kk/classes").text)})
    assert other.status_code == 404
    sign_in(client, "ekinshi")
    declined = client.post(decline, data={"csrf_token": csrf_of(client.get("/kk/classes").text)},
                           follow_redirects=False)
    assert declined.status_code == 303

    sign_in(client, "mugalim")
    gradebook = client.get(f"/kk/classes/{room['id']}/gradebook").text
    assert "okushy" in gradebook and "ekinshi" not in gradebook
    assert session.exec(select(ClassInvitation)).all() == []
