"""Checks on the model's simpler wording before it is shown: the right language, real Kazakh or Russian
(the words are ones the lessons of that language use, not a mix of Turkic forms), not an echo of the
question, and supported by the passage: each sentence's content words appear in the passage, the
glossary definition or the lesson's key ideas. Then what the 0.5B model was seen to get wrong on the
evaluation set (README, "AI tutor"): a sentence that opens by saying the question back, its own
definition of the glossary term already defined on the screen, a copy of the passage with a word
changed. Sentences that fail are dropped; what is left must still say something, or the learner sees
the passage alone."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from gennation.tutor import guard, morphology

SENTENCES = re.compile(r"(?<=[.!?…])\s+|\n+")
SUPPORTED = 0.6  # share of a statement's content words found in the passage, definition or key ideas
SUPPORTED_QUESTION = 0.34  # a guiding question may use more words of its own
REAL_LANGUAGE = 0.75  # share of all content words that the lessons of the language use
REAL_SENTENCE = 0.6  # the same, for one sentence
ECHO = 0.6  # share of a sentence's content words that come from the learner's question
NEAR_COPY = 0.75  # share of a sentence's words found, in order, in the lesson text already shown
OPENING_WORDS = 5  # a sentence that opens with two of the question's words in these says the question back


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


def near_copy(sentence: str, source: str) -> bool:
    """A sentence of five words or more whose words are, in order, mostly those of the lesson text already
    shown (a copy with a word changed or misspelt, "Бырын тек адамның…" for "Бұрын тек адамның…"): it
    says nothing simpler, and its changes are where the small model goes wrong."""
    mine = re.findall(r"\w+", sentence.casefold())
    if len(mine) < 5:
        return False
    theirs = re.findall(r"\w+", source.casefold())
    matched = sum(block.size for block in SequenceMatcher(None, mine, theirs, autojunk=False).get_matching_blocks())
    return matched / len(mine) >= NEAR_COPY


def restates(sentence: str, question: str, lang: str, term: str = "") -> bool:
    """A sentence that opens by saying the learner's question back ("Искусственный нейрон принимает решение,
    …" to "Как искусственный нейрон принимает решение?"): the small model then goes on with words of the
    passage put together in a way the passage does not. The term a "what is X" question asks about does not
    count (a definition starts with it)."""
    opening = [w for w in _content(" ".join(re.findall(r"\w+(?:-\w+)*", sentence)[:OPENING_WORDS]), lang)]
    asked = set(_content(question, lang)) - set(_content(term, lang))
    return sum(w in asked for w in opening) >= 2


def redefines(sentence: str, term: str, lang: str) -> bool:
    """A sentence that defines the glossary term the answer starts from ("Фишинг — это …"): the glossary's
    definition is already on the screen, and the small model's own one puts its words together wrongly."""
    named = _content(term, lang)
    if not named:
        return False
    opening = _content(" ".join(re.findall(r"\w+(?:-\w+)*", sentence)[:len(named) + 1]), lang)
    return all(_known(stem, set(opening)) for stem in named) and bool(
        re.search(r"\s(—|–|-|это|деген|дегеніміз|дегеніміз –)\s", sentence[:80]))


def problem(sentence: str, lang: str, question: str, support: set[str] | None, vocabulary: set[str] | None,
            source: str = "", term: str = "") -> str:
    """Why one generated sentence may not be shown ("" when it may). Without `support` (a guiding question on
    a quiz page) only its language and echoes are checked. `term`: the glossary term whose definition the
    answer starts from."""
    if source and (copies(sentence, source) or near_copy(sentence, source)):
        return "copy"
    if len(sentence) >= 25 and not guard.is_in_language(sentence, lang):
        return "language"
    if echoes(sentence, question, lang):
        return "echo"
    if support is not None and not sentence.endswith("?"):
        if restates(sentence, question, lang, term):
            return "restates"
        if term and redefines(sentence, term, lang):
            return "redefines"
    if vocabulary and share_known(sentence, lang, vocabulary) < REAL_SENTENCE:
        return "not_real"
    if support is not None:
        needed = SUPPORTED_QUESTION if sentence.endswith("?") else SUPPORTED
        if share_known(sentence, lang, support) < needed:
            return "unsupported"
    return ""
