"""Checks on the model's simpler wording before it is shown: the right language, real Kazakh or Russian
(the words are ones the lessons of that language use, not a mix of Turkic forms), not an echo of the
question, and supported by the passage: each sentence's content words appear in the passage, the
glossary definition or the lesson's key ideas. Unsupported sentences are dropped; what is left must
still say something, or the learner sees the passage alone."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from gennation.tutor import guard, morphology

SENTENCES = re.compile(r"(?<=[.!?…])\s+|\n+")
SUPPORTED = 0.6  # share of a statement's content words found in the passage, definition or key ideas
SUPPORTED_QUESTION = 0.34  # a guiding question may use more words of its own
REAL_LANGUAGE = 0.75  # share of all content words that the lessons of the language use
REAL_SENTENCE = 0.6  # the same, for one sentence
ECHO = 0.6  # share of a sentence's content words that come from the learner's question


@dataclass
class Checked:
    text: str  # what may be shown ("" when nothing passed)
    reason: str = ""  # why the whole wording was rejected: language, not_real, echo, unsupported, empty
    dropped: list[str] = field(default_factory=list)  # sentences left out, each with its reason


def _content(text: str, lang: str) -> list[str]:
    return [s for s in morphology.stems(text, lang) if len(s) >= 3 and not s.isdigit()]


def _known(stem: str, known: set[str]) -> bool:
    """A stem counts as known when it is in `known`, or shares its first five letters (or all of the
    shorter one, three at least) with a stem there: stemmers do not always cut two forms alike."""
    if stem in known:
        return True
    for other in known:
        common = min(5, len(stem), len(other))
        if common >= 3 and stem[:common] == other[:common] and (common == 5 or common == len(other) or common == len(stem)):
            return True
    return False


def support_set(lang: str, *texts: str) -> set[str]:
    return {stem for text in texts for stem in _content(text, lang)}


def share_known(text: str, lang: str, known: set[str]) -> float:
    words = _content(text, lang)
    return sum(_known(w, known) for w in words) / len(words) if words else 0.0


def echoes(sentence: str, question: str, lang: str) -> bool:
    """A sentence made mostly of the question's words (the small model likes to say the question back)."""
    words = _content(sentence, lang)
    asked = set(_content(question, lang))
    from_question = [w for w in words if w in asked]
    return len(words) >= 2 and len(from_question) >= 2 and len(from_question) / len(words) >= ECHO


def check(text: str, lang: str, question: str, support: set[str], vocabulary: set[str]) -> Checked:
    text = text.strip()
    if len(_content(text, lang)) < 3:
        return Checked("", "empty")
    if not guard.is_in_language(text, lang):
        return Checked("", "language")
    if vocabulary and share_known(text, lang, vocabulary) < REAL_LANGUAGE:
        return Checked("", "not_real")
    kept, dropped = [], []
    for sentence in (s.strip() for s in SENTENCES.split(text) if s and s.strip()):
        if echoes(sentence, question, lang):
            dropped.append(f"echo: {sentence}")
            continue
        needed = SUPPORTED_QUESTION if sentence.endswith("?") else SUPPORTED
        if share_known(sentence, lang, support) < needed:
            dropped.append(f"unsupported: {sentence}")
            continue
        kept.append(sentence)
    statements = [s for s in kept if not s.endswith("?")]
    if not statements:
        reason = "echo" if dropped and all(d.startswith("echo") for d in dropped) else "unsupported"
        return Checked("", reason, dropped)
    questions = [s for s in kept if s.endswith("?")][:1]  # one guiding question at most
    return Checked(" ".join(statements[:3] + questions), "", dropped)


def copies(sentence: str, source: str) -> bool:
    """A sentence of six words or more taken word for word from the lesson text already shown: not simpler."""
    words = " ".join(re.findall(r"\w+", sentence.casefold()))
    return len(words.split()) >= 6 and words in " ".join(re.findall(r"\w+", source.casefold()))


def problem(sentence: str, lang: str, question: str, support: set[str] | None, vocabulary: set[str] | None,
            source: str = "") -> str:
    """Why one generated sentence may not be shown ("" when it may). Without `support` (a guiding question on
    a quiz page) only its language and echoes are checked."""
    if source and copies(sentence, source):
        return "copy"
    if len(sentence) >= 25 and not guard.is_in_language(sentence, lang):
        return "language"
    if echoes(sentence, question, lang):
        return "echo"
    if vocabulary and share_known(sentence, lang, vocabulary) < REAL_SENTENCE:
        return "not_real"
    if support is not None:
        needed = SUPPORTED_QUESTION if sentence.endswith("?") else SUPPORTED
        if share_known(sentence, lang, support) < needed:
            return "unsupported"
    return ""
