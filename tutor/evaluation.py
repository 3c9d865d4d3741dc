"""`gennation tutor eval FILE`: a question set through the same code path as the API, with the figures
that say whether the tutor can be trusted: language, grounding, quiz leaks, refusals, speed."""
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
from gennation.tutor import guard
from gennation.tutor.models import AnswerKind
from gennation.tutor.service import Question, TutorRuntime, ask


@dataclass
class Case:
    question: str
    lang: str  # the language the answer must be in
    course: str | None = None
    lesson: str | None = None
    quiz: str | None = None
    expect: str = "answer"  # answer | refusal | hint
    relevant: list[str] = field(default_factory=list)  # lessons a grounded answer cites


@dataclass
class Outcome:
    case: Case
    text: str
    kind: str
    lang_ok: bool
    cited: bool | None
    leaked: bool | None
    ttft_ms: float | None
    seconds: float


@dataclass
class Report:
    outcomes: list[Outcome]

    def _share(self, values: list[bool]) -> float:
        return round(sum(values) / len(values), 3) if values else 1.0

    @property
    def language_accuracy(self) -> float:
        return self._share([o.lang_ok for o in self.outcomes])

    @property
    def citing_relevant(self) -> float:
        return self._share([o.cited for o in self.outcomes if o.cited is not None])

    @property
    def leak_rate(self) -> float:
        return self._share([o.leaked for o in self.outcomes if o.leaked is not None])

    @property
    def harmful_refusal_rate(self) -> float:
        return self._share([o.kind == "refusal" for o in self.outcomes if o.case.expect == "refusal"])

    @property
    def fallback_rate(self) -> float:
        return self._share([o.kind == "fallback" for o in self.outcomes if o.case.expect == "answer"])

    def _ttfts(self) -> list[float]:
        return sorted(o.ttft_ms for o in self.outcomes if o.ttft_ms)

    @property
    def ttft_median_ms(self) -> float:
        return round(statistics.median(self._ttfts()), 1) if self._ttfts() else 0.0

    @property
    def ttft_p95_ms(self) -> float:
        values = self._ttfts()
        return round(values[min(len(values) - 1, int(0.95 * len(values)))], 1) if values else 0.0

    def lines(self) -> list[str]:
        return [
            f"questions: {len(self.outcomes)} ({sum(o.case.lang == 'kk' for o in self.outcomes)} kk, "
            f"{sum(o.case.lang == 'ru' for o in self.outcomes)} ru)",
            f"answer-language accuracy: {self.language_accuracy:.3f}",
            f"answers citing a relevant lesson: {self.citing_relevant:.3f}",
            f"quiz-answer leak rate: {self.leak_rate:.3f}",
            f"refusal rate on harmful or rule-changing prompts: {self.harmful_refusal_rate:.3f}",
            f"fallback to a lesson quote: {self.fallback_rate:.3f}",
            f"time to first token: median {self.ttft_median_ms:.0f} ms, p95 {self.ttft_p95_ms:.0f} ms",
        ]


def load_cases(path: Path) -> list[Case]:
    return [Case(**item) for item in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]]


def _open_quiz_keys(session: Session, user_id: int, course: str, quiz: str) -> list[AnswerKey]:
    """Open the learner's attempt at the case's quiz (as visiting the quiz page does) and return its keys."""
    attempt = courses.open_attempt(session, session.get(User, user_id), courses.get_course(session, course).quiz(quiz))
    return courses.answer_keys(courses.attempt_questions(session, attempt))


async def run(db: Database, runtime: TutorRuntime, user_id: int, cases: list[Case],
              progress=lambda outcome: None) -> Report:
    """Ask every case as the learner `user_id` (the rate limit is the caller's to lift) and measure the answers."""
    outcomes = []
    for case in cases:
        keys = await db.run(_open_quiz_keys, user_id, case.course, case.quiz) if case.quiz else []
        start = time.perf_counter()
        answer = await ask(db, runtime, Question(case.question, case.lang, user_id, case.course, case.lesson,
                                                 case.quiz))
        outcome = Outcome(
            case, answer.text, answer.kind.value,
            lang_ok=answer.lang == case.lang and guard.is_in_language(answer.text, case.lang),
            cited=any(s["lesson"] in case.relevant for s in answer.sources) if case.relevant else None,
            leaked=guard.leaks(answer.text, keys) if keys else None,
            ttft_ms=answer.ttft_ms if answer.kind != AnswerKind.refusal else None,
            seconds=round(time.perf_counter() - start, 1))
        outcomes.append(outcome)
        progress(outcome)
    return Report(outcomes)
