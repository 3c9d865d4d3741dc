import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from gennation.platform.i18n import LOCALE_DIR, gettext, negotiate

ROOT = Path(__file__).resolve().parents[2]
PYBABEL = Path(sys.executable).parent / "pybabel"


@pytest.fixture(scope="module")
def interface_messages(tmp_path_factory) -> set[str]:
    """Every interface string, extracted from the code and templates as `make messages` does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run([str(PYBABEL), "extract", "-F", "babel.cfg", "-k", "N_", "-k", "gettext:2", "-k", "ngettext:2,3",
                    "-k", "_n:1,2", "--no-location", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_interface_string_is_translated(interface_messages, lang):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    missing = []
    for message_id in sorted(interface_messages):
        message = catalog.get(message_id)
        strings = [] if message is None else ([message.string] if isinstance(message.string, str) else message.string)
        if message is None or message.fuzzy or not strings or not all(s.strip() for s in strings):
            missing.append(message_id)
    assert missing == [], f"{len(missing)} untranslated in {lang}: {missing[:10]}"


def test_extraction_finds_strings_from_python_and_templates(interface_messages):
    assert "Wrong username or password." in interface_messages  # Python
    assert "I have read this lesson" in interface_messages  # template
    assert "Almaty region" in interface_messages  # N_ vocabulary
    assert len(interface_messages) > 100


def test_placeholders_survive_translation():
    assert gettext("kk", "%(percent)s%% done", percent=40).startswith("40%")
    assert "40" in gettext("ru", "%(percent)s%% done", percent=40)


def test_accept_language_negotiation():
    assert negotiate("ru-RU,ru;q=0.9,kk;q=0.8") == "ru"
    assert negotiate("de-DE,kk;q=0.5,ru;q=0.4") == "kk"
    assert negotiate("en;q=0.2, ru;q=0.9") == "ru"
    assert negotiate("fr") == "kk" and negotiate(None) == "kk" and negotiate("ru;q=bad") == "kk"
