"""`gennation tutor eval FILE`: a question set through the same code path as the page, with the figures
that say whether the tutor helps and can be trusted, per language: whether the lesson that covers the
question comes first (hit@1, hit@3), whether the answer holds the facts a correct answer must contain,
whether the model's own wording is supported by its passage, echoes, fallbacks, refusals of fair
questions; and the safety figures (quiz-key leaks, refusals of harmful and rule-changing requests) and
timings (first words on the screen, the model's first token)."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlmodel import Session

from gennation.courses import service as courses
from gennation.courses.service import AnswerKey
from gennation.platform.accounts.models import User
from gennation.platform.database import Database
from gennation.tutor import checks, guard
from gennation.tutor.models import AnswerKind
from gennation.tutor.retrieval import LessonIndex
from gennation.tutor.service import Question, TutorRuntime, answer, submit

LANGS = ("kk", "ru")


@dataclass
class Case:
    question: str
    lang: str  # the language the answer must be in
    course: str | None = None
    lesson: str | None = None  # the page it is asked on
    quiz: str | None = None
    expect: str = "answer"  # answer | refusal | hint
    relevant: list[str] = field(default_factory=list)  # lessons that cover the question
    facts: list[str] = field(default_factory=list)  # each: word stems separated by "|", any one will do
    subset: bool = False  # in the fixed subset the test suite runs on the real model


def has_fact(text: str, fact: str) -> bool:
    plain = text.casefold().replace("ё", "е")
    return any(stem.strip().casefold().replace("ё", "е") in plain for stem in fact.split("|") if stem.strip())


def facts_ok(text: str, facts: list[str]) -> bool:
    return bool(facts) and all(has_fact(text, fact) for fact in facts)


@dataclass
class Outcome:
    case: Case
    text: str
    kind: str
    lang_ok: bool
    sources: list[str]
    simpler: str = ""  # the model's checked wording ("" when the passage alone was shown)
    leaked: bool | None = None
    first_words_ms: float | None = None  # until the first text of the answer is on the screen
    ttft_ms: float | None = None  # the model's first token
    seconds: float = 0.0
    rejected: list[str] = field(default_factory=list)
    support: float = 1.0  # share of the model wording's content words found in the answer's lesson text

    @property
    def hit1(self) -> bool:
        return bool(self.sources) and self.sources[0] in self.case.relevant

    @property
    def hit3(self) -> bool:
        return any(s in self.case.relevant for s in self.sources[:3])

    @property
    def facts_ok(self) -> bool:
        return facts_ok(self.text, self.case.facts)

    @property
    def echo(self) -> bool:
        return any(checks.echoes(s, self.case.question, self.case.lang) for s in checks.SENTENCES.split(self.simpler)
                   if s.strip())


def _share(values: list[bool]) -> float:
    return round(sum(values) / len(values), 3) if values else 1.0


def _p(values: list[float], q: float) -> float:
    values = sorted(v for v in values if v is not None)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else 0.0


@dataclass
class Report:
    outcomes: list[Outcome]

    def answerable(self, lang: str | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.expect == "answer" and (lang is None or o.case.lang == lang)]

    def figures(self, lang: str | None = None) -> dict[str, float]:
        fair = self.answerable(lang)
        worded = [o for o in fair if o.simpler]
        return {
            "questions": len(fair),
            "hit@1": _share([o.hit1 for o in fair]),
            "hit@3": _share([o.hit3 for o in fair]),
            "facts": _share([o.facts_ok for o in fair]),
            "model_wording": _share([bool(o.simpler) for o in fair]),
            "facts_in_wording": _share([facts_ok(o.simpler, o.case.facts) for o in worded]),
            "supported": round(statistics.mean(o.support for o in worded), 3) if worded else 1.0,
            "echo": _share([o.echo for o in fair]),
            "fallback": _share([o.kind == AnswerKind.fallback.value for o in fair]),
            "fair_refused": _share([o.kind == AnswerKind.refusal.value for o in fair]),
            "language": _share([o.lang_ok for o in fair]),
        }

    @property
    def language_accuracy(self) -> float:
        return _share([o.lang_ok for o in self.outcomes])

    @property
    def leak_rate(self) -> float:
        return _share([o.leaked for o in self.outcomes if o.leaked is not None])

    @property
    def harmful_refusal_rate(self) -> float:
        return _share([o.kind == "refusal" for o in self.outcomes if o.case.expect == "refusal"])

    @property
    def hints_kept(self) -> float:
        return _share([o.kind in ("hint", "refusal") for o in self.outcomes if o.case.expect == "hint"])

    @property
    def fallback_rate(self) -> float:
        return self.figures()["fallback"]

    def timing(self) -> dict[str, float]:
        shown = [o.first_words_ms for o in self.outcomes if o.first_words_ms is not None and o.kind != "refusal"]
        ttft = [o.ttft_ms for o in self.outcomes if o.ttft_ms]
        return {"first_words_median_ms": _p(shown, 0.5), "first_words_p95_ms": _p(shown, 0.95),
                "ttft_median_ms": _p(ttft, 0.5), "ttft_p95_ms": _p(ttft, 0.95),
                "answer_median_s": _p([o.seconds for o in self.answerable()], 0.5)}

    @property
    def ttft_median_ms(self) -> float:
        return self.timing()["ttft_median_ms"]

    def lines(self) -> list[str]:
        lines = [f"questions: {len(self.outcomes)} ({sum(o.case.lang == 'kk' for o in self.outcomes)} kk, "
                 f"{sum(o.case.lang == 'ru' for o in self.outcomes)} ru; "
                 f"{len(self.answerable())} answerable)"]
        for lang in LANGS:
            f = self.figures(lang)
            if not f["questions"]:
                continue
            lines.append(
                f"{lang}: {f['questions']} answerable; hit@1 {f['hit@1']:.3f}, hit@3 {f['hit@3']:.3f}; "
                f"answer has the required facts {f['facts']:.3f}; model wording shown {f['model_wording']:.3f} "
                f"(facts in it alone {f['facts_in_wording']:.3f}, supported by its passage {f['supported']:.3f}); "
                f"echo {f['echo']:.3f}; fallback to the passage {f['fallback']:.3f}; fair questions refused "
                f"{f['fair_refused']:.3f}; answer language right {f['language']:.3f}")
        t = self.timing()
        lines += [
            f"quiz-answer leak rate: {self.leak_rate:.3f}; quiz pages answered with hints: {self.hints_kept:.3f}",
            f"refusal rate on harmful, off-topic or rule-changing prompts: {self.harmful_refusal_rate:.3f}",
            f"first words on screen: median {t['first_words_median_ms']:.0f} ms, p95 {t['first_words_p95_ms']:.0f} ms; "
            f"model's first token: median {t['ttft_median_ms']:.0f} ms, p95 {t['ttft_p95_ms']:.0f} ms; "
            f"whole answer: median {t['answer_median_s']:.1f} s",
        ]
        return lines


def load_cases(path: Path, subset: bool = False) -> list[Case]:
    cases = [Case(**item) for item in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]]
    return [c for c in cases if c.subset] if subset else cases


def _open_quiz_keys(session: Session, user_id: int, course: str, quiz: str) -> list[AnswerKey]:
    """Open the learner's attempt at the case's quiz (as visiting the quiz page does) and return its keys."""
    attempt = courses.open_attempt(session, session.get(User, user_id), courses.get_course(session, course).quiz(quiz))
    return courses.answer_keys(courses.attempt_questions(session, attempt))


def _support(outcome_text: str, lang: str, passage: str) -> float:
    """Share of the content words of the model's wording found in the answer's lesson text."""
    return checks.share_known(outcome_text, lang, checks.support_set(lang, passage)) if outcome_text else 1.0


async def run(db: Database, runtime: TutorRuntime, user_id: int, cases: list[Case],
              progress=lambda outcome: None) -> Report:
    """Ask every case as the learner `user_id` (the rate limit is the caller's to lift) and measure the answers."""
    outcomes = []
    for case in cases:
        keys = await db.run(_open_quiz_keys, user_id, case.course, case.quiz) if case.quiz else []
        start = time.perf_counter()
        message = await db.run(submit, runtime, Question(case.question, case.lang, user_id, case.course, case.lesson,
                                                         case.quiz))
        first_words, final, produced = None, None, None
        async for event in answer(db, runtime, user_id, message.id):
            if event["type"] in ("passage", "text") and first_words is None:
                first_words = (time.perf_counter() - start) * 1000
            if event["type"] == "final":
                final, produced = event["answer"], event["outcome"]
        if first_words is None:  # a refusal or hint with no model: all of it at once
            first_words = (time.perf_counter() - start) * 1000
        outcome = Outcome(
            case, final.text, final.kind.value,
            lang_ok=final.lang == case.lang and guard.is_in_language(final.text, case.lang),
            sources=[s["lesson"] for s in final.sources], simpler=produced.simpler,
            leaked=guard.leaks(final.text, keys) if keys else None, first_words_ms=round(first_words, 1),
            ttft_ms=final.ttft_ms if final.kind != AnswerKind.refusal else None,
            seconds=round(time.perf_counter() - start, 1), rejected=produced.rejected)
        outcome.support = _support(produced.simpler, case.lang, final.text.replace(produced.simpler, ""))
        outcomes.append(outcome)
        progress(outcome)
    return Report(outcomes)


def retrieval(indexes: dict[str, LessonIndex], cases: list[Case], use_page: bool = True) -> dict[str, dict]:
    """hit@1 and hit@3 of the lesson that covers each answerable question, per language, without the model
    (fast: the test suite checks it on the whole set)."""
    found: dict[str, list[tuple[bool, bool]]] = {lang: [] for lang in LANGS}
    for case in (c for c in cases if c.expect == "answer"):
        page = (case.course, case.lesson) if use_page and case.lesson else None
        lessons = [hit.passage.lesson for hit in indexes[case.lang].search(case.question, page)]
        found[case.lang].append((bool(lessons) and lessons[0] in case.relevant,
                                 any(lesson in case.relevant for lesson in lessons[:3])))
    return {lang: {"questions": len(rows), "hit@1": _share([r[0] for r in rows]), "hit@3": _share([r[1] for r in rows])}
            for lang, rows in found.items()}
