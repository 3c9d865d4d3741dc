"""Words to search terms, per language.

Russian inflects (нейрон, нейрона, нейроном): the Snowball Russian stemmer from `snowballstemmer`.
Kazakh is agglutinative (дерек, деректер, деректердің, деректерімізді): no package stems it, so
`kazakh_stem` strips the endings (plural, possessive, case, common verb and word-forming suffixes)
from the end of the word, longest first, while a stem of three letters or more is left. Learners
often type Kazakh without its own letters (калай for қалай, желi for желі): both the question and
the lessons are first folded to the common Cyrillic letters, so either spelling finds the lesson.

Character n-grams were measured against the suffix stripper on the evaluation set (README, "AI tutor");
`ANALYZERS` keeps every variant that was measured so the comparison can be run again
(`gennation tutor eval --retrieval-only --analyzer ...`).
"""
from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")

# Kazakh letters folded to the common Cyrillic ones (and Latin look-alikes typed on a Russian layout).
KK_FOLD = str.maketrans({"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х",
                         "і": "и", "i": "и", "ё": "е"})
RU_FOLD = str.maketrans({"ё": "е"})

# Question words, pronouns and particles carry no topic (already folded for Kazakh).
STOPWORDS = {
    "ru": set("""
что как какой какая какое какие каких каким почему зачем где когда кто чем чего это эта этот эти ли же не ни
и а но или в во на с со к ко по о об от до из у за для при про без над под так такое такой есть был была было
быть мне меня мой моя тебе ты вы вас ваш скажи расскажи объясни можно нужно надо очень значит простыми словами
пожалуйста помоги помогите своих свой свои его ее их он она они мы нам себя там тут вот всё все уже еще ещё
также тоже если чтобы будет может могу делать сделать""".split()),
    "kk": {word.translate(KK_FOLD) for word in """
не деген дегеніміз дегенің қалай қандай неге неліктен қайда қашан кім қанша бұл осы сол мен сен сіз және
немесе бірақ да де та те ма ме ба бе па пе ғой үшін туралы маған саған айтшы айтып түсіндірші түсіндіріп
түсіндіріңіз айтыңыз бар жоқ ол ал өзі озі оны оның бер беріңізші бола болады ма ме ме екен қай нені неден
нәрсе еді өте керек қарапайым тілмен өтінемін""".split()},
    "en": set("what how why who which is are the a an of to in on and or for about explain tell me".split()),
}

# Kazakh endings, folded, longest first. Stripping stops at a stem of three letters.
KK_SUFFIXES = sorted({s.translate(KK_FOLD) for s in """
лар лер дар дер тар тер
ым ім ың ің ы і сы сі мыз міз ңыз ңіз ымыз іміз ыңыз іңіз
ның нің дың дің тың тің ға ге қа ке на не ны ні ды ді ты ті нда нде да де та те
дан ден тан тен нан нен мен бен пен менен ша ше дай дей тай тей ғы гі қы кі
ады еді йды йді ады атын етін ған ген қан кен ып іп п у уы уі ушы уші ғыш гіш
мақ мек бақ бек пақ пек са се ді ды ма ме ба бе па пе лық лік дық дік тық тік
лы лі ды ді ты ті сыз сіз шы ші ғар гер қар кер
амын емін ймын ймін йін мын мін сың сің асың есің амыз еміз сыңдар сіңдер айық ейік айын ейін""".split()}, key=len, reverse=True)
KK_FINAL = str.maketrans({"г": "к", "б": "п"})  # салмағы ~ салмақ, кітабы ~ кітап


def fold(text: str, lang: str) -> str:
    text = text.casefold()
    return text.translate(KK_FOLD) if lang == "kk" else text.translate(RU_FOLD)


def kazakh_stem(word: str) -> str:
    """Strip Kazakh endings from a folded word (see KK_SUFFIXES)."""
    changed = True
    while changed and len(word) > 4:
        changed = False
        for suffix in KK_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                changed = True
                break
    return word[:-1] + word[-1].translate(KK_FINAL) if word else word


@lru_cache(maxsize=1)
def _russian():
    return snowballstemmer.stemmer("russian")


@lru_cache(maxsize=1)
def _english():
    return snowballstemmer.stemmer("english")


def _stem(word: str, lang: str) -> str:
    if not re.search(r"[а-я]", word):  # Latin words (KazLLM, eGov, machine learning)
        return _english().stemWord(word)
    if lang == "ru":
        return _russian().stemWord(word)
    return kazakh_stem(word)


def words(text: str, lang: str) -> list[str]:
    """Folded words without stop words."""
    stop = STOPWORDS[lang] | STOPWORDS["en"]
    return [w for w in WORD.findall(fold(text, lang)) if w not in stop and (len(w) > 1 or w.isdigit())]


def stems(text: str, lang: str) -> list[str]:
    return [_stem(w, lang) for w in words(text, lang)]


def prefixes(text: str, lang: str) -> list[str]:
    """The earlier analyser, kept for comparison: words cut to five letters."""
    return [w[:5] for w in words(text, lang)]


def ngrams(text: str, lang: str, n: int = 4) -> list[str]:
    """Character n-grams of each word, with word boundaries marked."""
    grams = []
    for word in words(text, lang):
        marked = f"<{word}>"
        grams += [marked[i:i + n] for i in range(max(1, len(marked) - n + 1))]
    return grams


def stems_and_ngrams(text: str, lang: str) -> list[str]:
    return stems(text, lang) + ngrams(text, lang)


ANALYZERS = {"stems": stems, "prefix5": prefixes, "ngrams": ngrams, "stems+ngrams": stems_and_ngrams}
