"""Checks around the model: which language, personal data, harmful or rule-changing requests,
and whether an answer gives away a quiz key."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import airlock_pii
from airlock_pii import EntityType
from lingua import Language, LanguageDetectorBuilder

from gennation.courses.service import AnswerKey  # the course engine owns the key format

LANGS = {Language.KAZAKH: "kk", Language.RUSSIAN: "ru", Language.ENGLISH: "en"}
# Contact and identity data. Names are left alone: learners ask about Turing or al-Farabi.
MASKED_TYPES = (EntityType.PHONE, EntityType.EMAIL, EntityType.IIN, EntityType.BIN, EntityType.KZ_IBAN,
                EntityType.CARD, EntityType.SECRET)
TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")  # an ID number even when its check digit is off


@lru_cache(maxsize=1)
def _detector():
    return LanguageDetectorBuilder.from_languages(*LANGS).with_preloaded_language_models().build()


def language_scores(text: str) -> dict[str, float]:
    return {LANGS[v.language]: v.value for v in _detector().compute_language_confidence_values(text)}


def question_language(text: str, interface_lang: str) -> str:
    """Kazakh or Russian, as the question is written; the interface language decides when unclear."""
    fallback = interface_lang if interface_lang in ("kk", "ru") else "ru"
    scores = language_scores(text)
    kk, ru = scores.get("kk", 0.0), scores.get("ru", 0.0)
    if len(text.strip()) < 8 or abs(kk - ru) < 0.25:
        return fallback
    return "kk" if kk > ru else "ru"


def is_in_language(text: str, lang: str) -> bool:
    """Whether an answer is written in `lang` (Kazakh shares letters with Russian: lingua tells them apart)."""
    plain = re.sub(r"[\d\W_]+", " ", text).strip()
    if len(plain) < 12:
        return True
    scores = language_scores(plain)
    return max(scores, key=scores.get) == lang


@dataclass
class Masked:
    text: str
    found: list[str] = field(default_factory=list)


def mask_personal_data(text: str) -> Masked:
    """Replace phone numbers, e-mails, ID numbers and similar with a marker before anything is kept."""
    entities = airlock_pii.detect(text, types=MASKED_TYPES, min_confidence=0.5)
    pieces, found, position = [], [], 0
    for entity in entities:
        pieces += [text[position:entity.start], f"[{entity.type.value}]"]
        found.append(entity.type.value)
        position = entity.end
    pieces.append(text[position:])
    masked = "".join(pieces)
    if TWELVE_DIGITS.search(masked):
        masked = TWELVE_DIGITS.sub("[IIN]", masked)
        found.append("IIN")
    return Masked(masked, sorted(set(found)))


def _patterns(*stems: str) -> re.Pattern:
    return re.compile("|".join(stems), re.IGNORECASE)


# Requests the tutor turns down whatever the lesson: harm to people, weapons, drugs, break-ins.
HARMFUL = _patterns(
    r"\bбомб", r"взрывчат", r"жарылғыш", r"\bexplosive", r"\bbomb\b", r"оружи", r"\bқару\b", r"\bweapon",
    r"наркоти", r"есірткі", r"\bdrugs?\b", r"самоуби", r"суицид", r"өзіне қол жұмса", r"өзімді өлтір",
    r"\bsuicide", r"kill myself", r"\bубить\b", r"\bубей", r"өлтір", r"\bkill\b", r"взлом", r"взломать",
    r"бұзып кір", r"\bhack\b", r"\bhacking\b", r"украсть пароль", r"құпиясөзін ұрла", r"steal .*password",
    r"порн", r"\bporn", r"дипфейк.{0,40}(сделать|создать|жаса).{0,40}(шантаж|опозор|бопса|масқара)",
)
# Text that tries to change the tutor's rules (prompt injection).
INJECTION = _patterns(
    r"ignore (all |the |your )?(previous |above |prior )?(instructions|rules)", r"disregard .*instructions",
    r"system prompt", r"you are now", r"developer mode", r"\bDAN\b", r"jailbreak",
    r"игнорируй", r"забудь (все |свои |предыдущие )?(правила|инструкции)", r"ты теперь",
    r"системн\w* (промпт|инструкц)", r"режим разработчика", r"новые правила",
    r"нұсқау\w* (елеме|ұмыт)", r"ережелер\w* (ұмыт|елеме)", r"сен енді", r"жүйелік (промпт|нұсқау)",
    r"жаңа ережелер",
)


def is_harmful(text: str) -> bool:
    return bool(HARMFUL.search(text))


def is_injection(text: str) -> bool:
    return bool(INJECTION.search(text))


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


ANSWER_CLAIM = _patterns(r"правильн\w* (ответ|вариант)", r"верн\w* (ответ|вариант)", r"дұрыс жауап",
                         r"correct answer", r"дұрыс нұсқа", r"ответ\s*[:—-]", r"жауап\s*[:—-]")


def leaks(answer: str, keys: list[AnswerKey]) -> bool:
    """Whether `answer` states a keyed answer of an ungraded question."""
    plain = _normal(answer)
    numbers = {float(n.replace(",", ".")) for n in re.findall(r"\d+(?:[.,]\d+)?", answer)}
    for key in keys:
        for text in key.texts:
            option = _normal(text)
            if len(option) >= 8 and option in plain:
                return True
        if any(abs(n - k) < 1e-9 for n in numbers for k in key.numbers):
            return True
        if key.order:
            positions = [plain.find(_normal(item)) for item in key.order]
            if all(p >= 0 for p in positions) and positions == sorted(positions):
                return True
    return bool(keys) and bool(ANSWER_CLAIM.search(answer))
