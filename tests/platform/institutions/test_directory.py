"""Importing the directory of institutions: a dry run reports every bad row, nothing is written until
the file is clean, and importing the same file again changes nothing."""
import re

from sqlmodel import select

from gennation.platform.institutions import directory
from gennation.platform.institutions.models import Institution

HEADER = "kind;region;name_kk;name_ru;bin\n"
GOOD = (HEADER
        + "school;shymkent;№ 12 мектеп-гимназия;Школа-гимназия № 12;050140001238\n"
        + "university;almaty_city;Әл-Фараби атындағы Қазақ ұлттық университеті;Казахский национальный университет имени аль-Фараби;101240004568\n"
        + "college;kyzylorda;Қызылорда жоғары аграрлық-техникалық колледжі;Кызылординский высший аграрно-технический колледж;\n")


def test_a_clean_file_imports_and_importing_it_again_changes_nothing(session):
    checked = directory.check(session, GOOD.encode("utf-8-sig"))
    assert checked.clean and checked.encoding == "utf-8-sig" and len(checked.rows) == 3
    first = directory.import_rows(session, checked)
    session.commit()
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    again = directory.import_rows(session, directory.check(session, GOOD.encode()))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    university = session.exec(select(Institution).where(Institution.official_id == "101240004568")).one()
    assert university.title("kk").startswith("Әл-Фараби") and university.title("ru").startswith("Казахский")


def test_a_changed_name_updates_the_institution_found_by_its_bin(session):
    directory.import_rows(session, directory.check(session, GOOD.encode()))
    renamed = GOOD.replace("№ 12 мектеп-гимназия", "№ 12 IT-мектеп-гимназия")
    result = directory.import_rows(session, directory.check(session, renamed.encode()))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert session.exec(select(Institution).where(Institution.official_id == "050140001238")).one().name == "№ 12 IT-мектеп-гимназия"


def test_every_bad_row_is_reported_with_line_and_column_and_nothing_is_imported(session):
    bad = (HEADER
           + "school;shymkent;№ 12 мектеп-гимназия;Школа-гимназия № 12;050140001238\n"
           + "academy;shymkent;Академия;Академия;\n"                      # line 3: unknown kind
           + "school;mars;Мектеп;Школа;\n"                                 # line 4: unknown region
           + "school;astana;;Школа № 5;123456789012\n"                     # line 5: no kk name, bad BIN
           + "school;shymkent;Басқа мектеп;Другая школа;050140001238\n")  # line 6: the BIN of line 2 again
    checked = directory.check(session, bad.encode())
    assert not checked.clean
    assert [(e.line, e.column) for e in checked.errors] == [(3, "kind"), (4, "region"), (5, "name_kk"), (5, "bin"),
                                                            (6, "bin")]
    assert checked.errors[-1].values == {"line": 2}
    assert session.exec(select(Institution)).all() == []


def test_a_windows_1251_file_from_excel_is_read(session):
    russian_only = HEADER + "school;pavlodar;Павлодар мектебі;Школа Павлодара;\n"  # 1251 has no Kazakh letters
    checked = directory.check(session, russian_only.encode("cp1251"))
    assert checked.clean and checked.encoding == "cp1251" and checked.rows[0]["name_ru"] == "Школа Павлодара"


def test_a_file_that_is_not_text_or_lacks_columns_is_refused(session):
    assert directory.check(session, b"\x81\x98\xff" * 10).errors[0].message.startswith("The file is neither")
    missing = directory.check(session, "kind,region,name_kk\nschool,astana,Мектеп\n".encode())
    assert missing.errors[0].values == {"columns": "name_ru"}
    assert directory.check(session, HEADER.encode()).errors[0].message == "The file has no rows."


def test_search_finds_either_name_whatever_the_case_of_kazakh_letters(session):
    directory.import_rows(session, directory.check(session, GOOD.encode()))
    session.commit()
    assert [i.official_id for i in directory.search(session, "әл-фараби")] == ["101240004568"]
    assert [i.official_id for i in directory.search(session, "КАЗАХСКИЙ НАЦ")] == ["101240004568"]
    assert {i.region for i in directory.search(session, "колледж")} == {"kyzylorda"}
    assert directory.search(session, "ә") == []  # one letter finds too much to be useful


def test_adoptions_count_toward_the_share_of_universities_and_colleges(session, loaded):
    import pytest
    from datetime import date

    from gennation.platform.accounts.models import Role
    from gennation.platform.accounts.schemas import RegistrationIn
    from gennation.platform.accounts.service import register
    from gennation.platform.errors import InvalidField, NotFound
    from tests.conftest import REGISTRATION

    directory.import_rows(session, directory.check(session, GOOD.encode()))
    admin = register(session, RegistrationIn(username="registrar", language="kk", **REGISTRATION))
    admin.role = Role.admin
    stranger = register(session, RegistrationIn(username="stranger", language="kk", **REGISTRATION))
    university = session.exec(select(Institution).where(Institution.kind == "university")).one()
    assert directory.adoption_share(session, 2026) == (0, 2)  # a university and a college; schools do not count
    directory.record_adoption(session, admin, university.id, "test-course", "6B06101 Информатика", date(2025, 9, 1),
                              today=date(2026, 12, 1))
    again = directory.record_adoption(session, admin, university.id, "test-course", "6B06101 Информатика",
                                      date(2025, 2, 1), today=date(2026, 12, 1))
    assert len(directory.adoptions_of(session, university.id)) == 1 and again.since == date(2025, 2, 1)
    assert directory.adoption_share(session, 2024) == (0, 2) and directory.adoption_share(session, 2025) == (1, 2)
    assert directory.adoption_share(session, 2025, region="kyzylorda") == (0, 1)
    with pytest.raises(InvalidField) as future:
        directory.record_adoption(session, admin, university.id, "test-course", "X", date(2027, 1, 1), today=date(2026, 12, 1))
    assert future.value.errors == {"since": "The date is in the future."}
    with pytest.raises(InvalidField):
        directory.record_adoption(session, admin, university.id, "no-such-course", "X", date(2025, 1, 1))
    with pytest.raises(NotFound):  # only an admin or the institution's coordinator
        directory.record_adoption(session, stranger, university.id, "test-course", "X", date(2025, 1, 1))


def test_an_admin_checks_a_file_sees_every_bad_row_in_kazakh_and_then_imports_a_clean_one(client, session, tmp_path):
    from gennation.platform.accounts.models import Role
    from gennation.platform.accounts.service import set_role
    from tests.conftest import csrf_of, register

    register(client, "directory-admin")
    set_role(session, "directory-admin", Role.admin)
    session.commit()
    page = client.get("/kk/admin/institutions")
    assert page.status_code == 200 and "Мекемелер анықтамалығы" in page.text
    bad = GOOD + "academy;mars;X;Y;1\n"
    checked = client.post("/kk/admin/institutions/check", data={"csrf_token": csrf_of(page.text)},
                          files={"file": ("schools.csv", bad.encode("utf-8"), "text/csv")})
    assert checked.status_code == 422 and "Ештеңе жүктелген жоқ" in checked.text
    assert "«academy» түрі белгісіз" in checked.text and "<td>5</td>" in checked.text
    assert session.exec(select(Institution)).all() == []
    kept = list((client.app.state.settings.var_dir / "imports").glob("*.refused.tsv"))
    assert len(kept) == 1 and "5\tkind" in kept[0].read_text()  # the refused file stays, with its reasons
    clean = client.post("/kk/admin/institutions/check", data={"csrf_token": csrf_of(page.text)},
                        files={"file": ("schools.csv", GOOD.encode("utf-8"), "text/csv")})
    assert clean.status_code == 200 and "3 жол жүктеуге дайын" in clean.text
    upload = re.search(r'name="upload" value="([0-9a-f]+)"', clean.text).group(1)
    done = client.post("/kk/admin/institutions/import", data={"csrf_token": csrf_of(page.text), "upload": upload})
    assert done.status_code == 200 and "3 қосылды" in done.text
    assert len(session.exec(select(Institution)).all()) == 3


def test_only_admins_reach_the_directory_pages(learner):
    from tests.conftest import csrf_of
    assert learner.get("/kk/admin/institutions").status_code == 403
    token = csrf_of(learner.get("/kk/account").text)
    assert learner.post("/kk/admin/institutions/check", data={"csrf_token": token},
                        files={"file": ("x.csv", GOOD.encode(), "text/csv")}).status_code == 403


def test_the_adoption_api_records_for_an_admin_and_hides_the_institution_from_others(client, session):
    from gennation.platform.accounts.models import Role
    from gennation.platform.accounts.service import set_role
    from tests.conftest import api_token

    directory.import_rows(session, directory.check(session, GOOD.encode()))
    session.commit()
    university = session.exec(select(Institution).where(Institution.kind == "university")).one()
    admin, stranger = api_token(client, "adopt-admin"), api_token(client, "adopt-stranger")
    set_role(session, "adopt-admin", Role.admin)
    session.commit()
    body = {"course": "test-course", "programme": "6B01501 Информатика мұғалімдерін даярлау", "since": "2025-09-01"}
    assert client.post(f"/api/v1/institutions/{university.id}/adoptions", json=body, headers=stranger).status_code == 404
    made = client.post(f"/api/v1/institutions/{university.id}/adoptions", json=body, headers=admin)
    assert made.status_code == 201 and made.json()["programme"] == body["programme"]
    listed = client.get(f"/api/v1/institutions/{university.id}/adoptions", headers=stranger).json()
    assert [a["course_slug"] for a in listed] == ["test-course"]
    future = client.post(f"/api/v1/institutions/{university.id}/adoptions?lang=ru", json={**body, "since": "2999-01-01"},
                         headers=admin)
    assert future.status_code == 422 and future.json()["detail"][0]["loc"] == ["body", "since"]
