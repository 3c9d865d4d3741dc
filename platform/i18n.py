"""Interface languages: gettext catalogs kept as .po files in frontend/locale (Babel)."""
from __future__ import annotations

import io
from functools import lru_cache
from gettext import NullTranslations

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from gennation.platform.settings import LANGUAGES, ROOT

LOCALE_DIR = ROOT / "frontend" / "locale"
DEFAULT_LANGUAGE = "kk"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later (at render time)."""
    return message


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> NullTranslations:
    """Compile the .po file in memory, so there is no separate build step that can go stale."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang not in LANGUAGES or not po.exists():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(lang: str, message: str, **values: object) -> str:
    text = translations(lang).gettext(message)
    return text % values if values else text


def ngettext(lang: str, singular: str, plural: str, n: int, **values: object) -> str:
    text = translations(lang).ngettext(singular, plural, n)
    return text % {"num": n, **values}


def content_language(lang: str) -> str:
    """Courses are written in Kazakh and Russian; the English interface shows the Russian text."""
    return lang if lang in ("kk", "ru") else "ru"


def negotiate(accept_language: str | None) -> str:
    """Pick the first supported language from an Accept-Language header (Kazakh by default)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:  # q=0 means "not acceptable"
            ranked.append((-quality, position, tag.strip().lower().split("-")[0]))
    for _q, _pos, primary in sorted(ranked):
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE
