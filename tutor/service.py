"""The tutor: answers grounded in the lessons, in the learner's language, never giving away quiz keys.

`ask` runs one question through every step and yields events for the page (or collects them for
the API): where the question waits in the queue, the answer's text as it is generated and checked,
and the final answer with its sources. The checks run on the server before text is shown.
"""
from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import anyio
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from gennation.courses import service as courses
from gennation.courses.service import AnswerKey
from gennation.courses.source import glossary_terms
from gennation.platform.accounts.models import User
from gennation.platform.database import Database, utcnow
from gennation.platform.errors import InvalidField, NotFound, RateLimited, Unavailable
from gennation.platform.i18n import N_, gettext
from gennation.platform.settings import CONTENT_LANGUAGES
from gennation.tutor import guard
from gennation.tutor.engine import Job, LearnerBusy, TutorUnavailable
from gennation.tutor.models import AnswerKind, AnswerRating, Conversation, TeacherCorrection, TutorMessage
from gennation.tutor.prompt import LABELS, build_messages
from gennation.tutor.retrieval import Hit, LessonIndex, Passage

log = logging.getLogger("gennation.tutor")
MAX_QUESTION = 1000
MAX_TOKENS = 150
QUESTIONS_PER_MINUTE = 6
OFF_TOPIC_SCORE = 4.0  # BM25 score under which no lesson speaks of the question (see tests/tutor)
LANGUAGE_CHECK_CHARS = 60  # text held back until its language is confirmed
SENTENCE_END = re.compile(r"[.!?…:]\s|\n")
UNAVAILABLE = N_("The tutor is not available right now. The lessons and quizzes work as usual.")


@dataclass
class Question:
    text: str
    interface_lang: str
    user_id: int
    course: str | None = None
    lesson: str | None = None
    quiz: str | None = None


@dataclass
class Answer:
    text: str
    lang: str
    kind: AnswerKind
    sources: list[dict]
    conversation_id: int
    message_id: int
    personal_data: list[str] = field(default_factory=list)
    ttft_ms: float | None = None
    total_ms: float | None = None
    tokens: int = 0


def build_runtime(settings) -> "TutorRuntime":
    """Embedded model worker by default; Celery workers behind Redis when REDIS_URL is set."""
    if settings.redis_url:
        from gennation.platform.worker import make_celery
        from gennation.tutor.engine import RedisBackend
        return TutorRuntime(RedisBackend(settings.redis_url, make_celery(settings)), settings.content_dir)
    from gennation.tutor.engine import EmbeddedBackend
    return TutorRuntime(EmbeddedBackend(settings.tutor_model_path), settings.content_dir)


class TutorRuntime:
    """What the tutor keeps between questions in one web process: the model backend and the search index."""

    def __init__(self, backend, content_dir: Path, owns_backend: bool = True):
        self.backend = backend
        self.content_dir = content_dir
        self.owns_backend = owns_backend  # a backend shared with other apps (tests) is theirs to close
        self.questions_per_minute = QUESTIONS_PER_MINUTE
        self._indexes: dict[str, tuple[str, LessonIndex]] = {}

    def index(self, session: Session, lang: str) -> LessonIndex:
        """The lesson index of `lang`, rebuilt when any course's content version changes."""
        version = courses.catalogue(session).version
        cached = self._indexes.get(lang)
        if cached is None or cached[0] != version:
            terms = [str(entry["term"]) for _id, entry in glossary_terms(self.content_dir, lang)]
            cached = (version, LessonIndex.build(session, lang, terms))
            self._indexes[lang] = cached
        return cached[1]

    def warm_up(self, session: Session) -> None:
        """Build what the first question would otherwise wait for: the language detector and the indexes."""
        guard.language_scores("Жасанды интеллект деген не? Что такое искусственный интеллект?")
        try:
            for lang in CONTENT_LANGUAGES:
                self.index(session, lang)
        except SQLAlchemyError as error:  # a database not migrated yet: built on first use instead
            log.warning("tutor index not built at start-up: %s", type(error).__name__)

    def start(self) -> None:
        if hasattr(self.backend, "start"):
            self.backend.start()

    def close(self) -> None:
        if self.owns_backend and hasattr(self.backend, "close"):
            self.backend.close()

    @property
    def available(self) -> bool:
        return self.backend is not None and self.backend.status in ("ready", "loading")


def _source(passage: Passage, lang: str) -> dict:
    return {"course": passage.course, "course_title": passage.course_title, "lesson": passage.lesson,
            "lesson_title": passage.lesson_title, "url": f"/{lang}/{passage.url_path}"}


def _sources(hits: list[Hit], current: list[Passage], lang: str) -> list[dict]:
    seen, sources = set(), []
    for passage in [*current[:1], *(hit.passage for hit in hits)]:
        if (passage.course, passage.lesson) not in seen:
            seen.add((passage.course, passage.lesson))
            sources.append(_source(passage, lang))
    return sources[:3]


def _check_limits(session: Session, user_id: int, per_minute: int) -> None:
    since = utcnow() - timedelta(minutes=1)
    recent = session.exec(select(func.count()).select_from(TutorMessage).join(Conversation).where(
        Conversation.user_id == user_id, TutorMessage.role == "learner", TutorMessage.created_at >= since)).one()
    if recent >= per_minute:
        raise RateLimited(N_("You have asked many questions in a minute. Please wait a minute and ask again."),
                          retry_after=60)


def _conversation(session: Session, question: Question) -> Conversation:
    found = session.exec(select(Conversation).where(
        Conversation.user_id == question.user_id, Conversation.course == question.course,
        Conversation.lesson == question.lesson, Conversation.quiz == question.quiz)).first()
    if found is None:
        found = Conversation(user_id=question.user_id, course=question.course, lesson=question.lesson,
                             quiz=question.quiz)
        session.add(found)
        session.flush()
    return found


def _refusal(lang: str, reason: str) -> str:
    texts = {
        "harmful": N_("I cannot help with that. I am here to help you learn about artificial intelligence: "
                      "ask me about this lesson."),
        "injection": N_("I cannot change my rules. Ask me a question about this lesson and I will gladly help."),
        "off_topic": N_("That question is outside our courses. Ask me about this lesson, for example about "
                        "its key ideas."),
    }
    return gettext(lang, texts[reason])


def _fallback(lang: str, hits: list[Hit], current: list[Passage]) -> str:
    passage = hits[0].passage if hits else (current[0] if current else None)
    if passage is None:
        return _refusal(lang, "off_topic")
    quote = " ".join(passage.text.split()[:80])
    return gettext(lang, "I could not write a reliable answer myself. Here is a quote from the lesson "
                         "«%(lesson)s»:", lesson=passage.lesson_title) + f"\n\n«{quote}…»"


def _hint(lang: str, hits: list[Hit], current: list[Passage]) -> str:
    passage = current[0] if current else (hits[0].passage if hits else None)
    text = gettext(lang, "I will not tell you the answer to a quiz question, but here is a hint: find the "
                         "part of the lesson that speaks about it and compare each option with it.")
    if passage:
        text += " " + gettext(lang, "Look again at the lesson «%(lesson)s».", lesson=passage.lesson_title)
    return text + " " + gettext(lang, "Which option matches what the lesson says, and why?")


class _Gate:
    """Decides what generated text may be shown, and when.

    On a lesson page text flows at once; its language is checked as soon as there is enough of it,
    and a drifting answer is cut off and retried. On a quiz page with an ungraded attempt only whole
    sentences are let through, each checked against the quiz keys first.
    """

    def __init__(self, lang: str, keys: list[AnswerKey]):
        self.lang, self.keys = lang, keys
        self.text = ""
        self.shown = 0
        self.drifted = False
        self.leaked = False
        self._language_checked = False

    def add(self, piece: str) -> str:
        """Add generated text; return the part that may be shown now."""
        self.text += piece
        if not self._language_checked and len(self.text) >= LANGUAGE_CHECK_CHARS:
            self._language_checked = True
            self.drifted = not guard.is_in_language(self.text, self.lang)
        if self.drifted:
            return ""
        start = self.shown
        if not self.keys:
            self.shown = len(self.text)
        else:
            for end in (m.end() for m in SENTENCE_END.finditer(self.text, self.shown)):
                if guard.leaks(self.text[:end], self.keys):
                    self.leaked = True
                    break
                self.shown = end
        return self.text[start:self.shown]

    def finish(self) -> str:
        """The rest, once generation has ended (checked like a sentence)."""
        if self.drifted or self.leaked or self.shown >= len(self.text):
            return ""
        if self.keys and guard.leaks(self.text, self.keys):
            self.leaked = True
            return ""
        ready, self.shown = self.text[self.shown:], len(self.text)
        return ready


def _clean(answer: str, lang: str) -> str:
    """Drop prompt labels the small model copies: a leading "Text («…»):", and anything after a
    line that starts a new "Question:" (the model writing the next prompt itself)."""
    labels = LABELS[lang]
    answer = re.sub(rf"^\s*{labels['text']}\s*(\(«[^»]*»\))?\s*:\s*", "", answer)
    return re.split(rf"\n\s*{labels['question']}\s*:", answer)[0].strip()


def _echoes(answer: str, question: str, lang: str) -> bool:
    """The small model sometimes repeats the question or its instructions, or says almost nothing."""
    words = set(re.findall(r"\w+", answer.casefold()))
    given = " ".join([question, *LABELS[lang].values()])
    return len(words) < 4 or len(words - set(re.findall(r"\w+", given.casefold()))) < 2


# ---------------------------------------------------------------- asking: submit, then prepare, generate, record
#
# A question is kept (`submit`, in the request's unit of work). Answering it runs in three phases so
# that no database connection is held while the model works: `prepare` reads everything generation
# needs in one short unit of work, `generate` talks to the model with no session at all, and `record`
# keeps the answer in another short unit of work, once (also when the learner leaves early).

def _resolve_lesson(session: Session, course: str | None, lesson: str | None) -> tuple[str | None, str | None]:
    """`lesson` may be "course/lesson", or a lesson id that only one course has."""
    if lesson and "/" in lesson:
        course, lesson = lesson.split("/", 1)
    if lesson and not course:
        owners = [c.slug for c in courses.catalogue(session).courses if any(l.slug == lesson for l in c.lessons)]
        if len(owners) != 1:
            raise InvalidField("lesson", N_("Unknown or ambiguous lesson: write it as course/lesson."))
        course = owners[0]
    return course, lesson


def submit(session: Session, runtime: TutorRuntime, question: Question) -> TutorMessage:
    """Check and keep a learner's question (personal data masked first); `answer` then answers it."""
    text = question.text.strip()
    if not text:
        raise InvalidField("question", N_("Please type a question."))
    if len(text) > MAX_QUESTION:
        raise InvalidField("question", N_("Please keep your question under 1000 characters."))
    if not runtime.available:
        raise Unavailable(UNAVAILABLE)
    _check_limits(session, question.user_id, runtime.questions_per_minute)
    question.course, question.lesson = _resolve_lesson(session, question.course, question.lesson)
    masked = guard.mask_personal_data(text)
    conversation = _conversation(session, question)
    message = TutorMessage(conversation_id=conversation.id, role="learner", text=masked.text,
                           lang=guard.question_language(masked.text, question.interface_lang),
                           personal_data=masked.found)
    session.add(message)
    session.flush()
    return message


def pending_question(session: Session, user_id: int, message_id: int) -> tuple[TutorMessage, Conversation]:
    """The learner's own question that has no answer yet, or NotFound."""
    message = session.get(TutorMessage, message_id)
    conversation = session.get(Conversation, message.conversation_id) if message else None
    answered = session.exec(select(TutorMessage.id).where(TutorMessage.reply_to_id == message_id)).first()
    if message is None or message.role != "learner" or conversation.user_id != user_id or answered:
        raise NotFound
    return message, conversation


@dataclass
class Prepared:
    """Everything generation needs, read before it starts; no database objects inside."""

    user_id: int
    question_id: int
    conversation_id: int
    lang: str
    masked: guard.Masked
    hits: list[Hit]
    current: list[Passage]
    lesson: tuple[str, str] | None  # title and key ideas of the lesson the question is asked on
    keys: list[AnswerKey]  # of the learner's ungraded quiz attempts: what must not leak
    quiz_page: bool  # asked on the page of a quiz the learner is sitting: hints, not answers
    decided: tuple[AnswerKind, str] | None = None  # a reply that needs no model (refusal, hint)


def prepare(session: Session, runtime: TutorRuntime, user_id: int, message_id: int) -> Prepared:
    """Phase one: the question, retrieval, quiz keys (read only) and the guards' decision."""
    question, conversation = pending_question(session, user_id, message_id)
    lang, course, lesson_slug = question.lang, conversation.course, conversation.lesson
    masked = guard.Masked(question.text, question.personal_data)
    index = runtime.index(session, lang)
    current = index.lesson_passages(course, lesson_slug) if lesson_slug else []
    lesson = (current[0].lesson_title, index.key_ideas.get((course, lesson_slug), "")) if current else None
    hits = index.search(masked.text, (course, lesson_slug) if lesson_slug else None)
    open_keys = courses.open_attempt_keys(session, user_id, course, conversation.quiz)
    prepared = Prepared(user_id, question.id, conversation.id, lang, masked, hits, current, lesson,
                        open_keys.keys, open_keys.on_page)
    if guard.is_harmful(masked.text):
        prepared.decided = (AnswerKind.refusal, _refusal(lang, "harmful"))
    elif guard.is_injection(masked.text):
        prepared.decided = (AnswerKind.refusal, _refusal(lang, "injection"))
    elif not index.on_topic(masked.text, hits, OFF_TOPIC_SCORE):
        # "which answer is right?" on a quiz page: help to think instead
        prepared.decided = (AnswerKind.hint, _hint(lang, hits, current)) if prepared.quiz_page else \
            (AnswerKind.refusal, _refusal(lang, "off_topic"))
    return prepared


@dataclass
class Outcome:
    """What generation produced: the reply to keep, its kind, timing, and what the learner saw."""

    kind: AnswerKind = AnswerKind.answer
    reply: str = ""
    shown: str = ""
    stats: dict = field(default_factory=dict)
    cut_off: bool = False  # the learner left before the answer was complete


async def generate(runtime: TutorRuntime, prepared: Prepared, outcome: Outcome) -> AsyncIterator[dict]:
    """Phase two, with no database session: the model's answer, checked as it is written.
    Yields {"type": "position"|"text"|"reset"}; fills `outcome`."""
    if prepared.decided:
        outcome.kind, outcome.reply = prepared.decided
        return
    lang, keys, backend = prepared.lang, prepared.keys, runtime.backend
    for attempt in range(2):  # a second try, with a firmer instruction, when the first one fails
        gate = _Gate(lang, keys)
        outcome.shown = ""
        job = Job(build_messages(prepared.masked.text, lang, prepared.lesson, prepared.hits, quiz_mode=prepared.quiz_page,
                                 firmer=attempt > 0), MAX_TOKENS, prepared.user_id)
        try:
            async with contextlib.aclosing(backend.stream(job)) as events:
                async for event in events:
                    if event["type"] == "position" and event["position"] > 0:
                        yield {"type": "position", "position": event["position"]}
                    elif event["type"] == "token":
                        shown = gate.add(event["text"])
                        if shown:
                            outcome.shown += shown
                            yield {"type": "text", "text": shown}
                        if gate.leaked or gate.drifted:
                            break  # leaving the stream cancels the generation
                    elif event["type"] == "done":
                        outcome.stats = event
                    elif event["type"] == "error":
                        raise Unavailable(N_("The tutor could not answer just now. Please try again."))
        except TutorUnavailable:
            raise Unavailable(UNAVAILABLE) from None
        except LearnerBusy:
            raise RateLimited(N_("The tutor is still answering your previous question. Please wait for it.")) from None
        rest = gate.finish()
        if rest:
            outcome.shown += rest
            yield {"type": "text", "text": rest}
        if gate.leaked:
            outcome.kind, outcome.reply = AnswerKind.hint, _hint(lang, prepared.hits, prepared.current)
            return
        candidate = _clean(gate.text, lang)
        if candidate and guard.is_in_language(candidate, lang) and not _echoes(candidate, prepared.masked.text, lang):
            outcome.reply = candidate
            return
        log.info("tutor attempt %s rejected (%s): %r", attempt + 1,
                 "drifted" if gate.drifted else "language" if candidate and not guard.is_in_language(
                     candidate, lang) else "echo or empty", candidate[:200])
        if gate.shown:
            yield {"type": "reset"}
    # while a quiz is open a lesson quote could hold its key: a hint instead
    outcome.kind, outcome.reply = (AnswerKind.hint, _hint(lang, prepared.hits, prepared.current)) if keys else \
        (AnswerKind.fallback, _fallback(lang, prepared.hits, prepared.current))


def record(session: Session, prepared: Prepared, outcome: Outcome) -> Answer:
    """Phase three: keep the answer (once: a question has at most one reply) and say what it is."""
    sources = [] if outcome.kind == AnswerKind.refusal else _sources(prepared.hits, prepared.current, prepared.lang)
    message = session.exec(select(TutorMessage).where(TutorMessage.reply_to_id == prepared.question_id)).first()
    if message is None:
        message = TutorMessage(conversation_id=prepared.conversation_id, role="tutor",
                               reply_to_id=prepared.question_id, lang=prepared.lang, kind=outcome.kind,
                               text=outcome.shown if outcome.cut_off else outcome.reply, sources=sources,
                               cut_off=outcome.cut_off, ttft_ms=outcome.stats.get("ttft_ms"),
                               total_ms=outcome.stats.get("total_ms"))
        session.add(message)
        session.flush()
    return Answer(message.text, message.lang, message.kind, message.sources, prepared.conversation_id, message.id,
                  prepared.masked.found, outcome.stats.get("ttft_ms"), outcome.stats.get("total_ms"),
                  outcome.stats.get("tokens", 0))


async def answer(db: Database, runtime: TutorRuntime, user_id: int, message_id: int) -> AsyncIterator[dict]:
    """Answer a submitted question. Yields {"type": "position"|"text"|"reset"|"final", ...}.

    A learner who leaves while the answer streams frees their slot at once (the backend does), and
    what they had seen is kept as a cut-off answer."""
    prepared = await db.run(prepare, runtime, user_id, message_id)
    outcome = Outcome()
    complete = False
    try:
        async with contextlib.aclosing(generate(runtime, prepared, outcome)) as events:
            async for event in events:
                yield event
        complete = True
    finally:
        if not complete and outcome.shown:
            outcome.cut_off = True
            with anyio.CancelScope(shield=True):  # the learner has gone; the record still has to be made
                await db.run(record, prepared, outcome)
    yield {"type": "final", "answer": await db.run(record, prepared, outcome)}


async def ask(db: Database, runtime: TutorRuntime, question: Question) -> Answer:
    """Submit and answer a question, the whole answer at once (JSON API, evaluation, no-JavaScript
    page): the same steps as the streamed page."""
    message = await db.run(submit, runtime, question)
    async for event in answer(db, runtime, question.user_id, message.id):
        if event["type"] == "final":
            return event["answer"]
    raise RuntimeError("the tutor gave no final answer")


def rate(session: Session, user: User, message_id: int, helpful: bool, comment: str = "") -> AnswerRating:
    """A learner rates one of the tutor's answers to them (again: the latest rating counts)."""
    message = session.get(TutorMessage, message_id)
    conversation = session.get(Conversation, message.conversation_id) if message else None
    if message is None or message.role != "tutor" or conversation.user_id != user.id:
        raise NotFound
    rating = session.exec(select(AnswerRating).where(AnswerRating.message_id == message_id)).first() \
        or AnswerRating(message_id=message_id, user_id=user.id, helpful=helpful)
    rating.helpful, rating.comment = helpful, comment.strip()[:500]
    session.add(rating)
    return rating


def history(session: Session, user: User, course: str | None, lesson: str | None, quiz: str | None,
            limit: int = 20) -> list[TutorMessage]:
    """The learner's recent exchanges with the tutor on one lesson or quiz, oldest first."""
    rows = session.exec(select(TutorMessage).join(Conversation).where(
        Conversation.user_id == user.id, Conversation.course == course, Conversation.lesson == lesson,
        Conversation.quiz == quiz).order_by(col(TutorMessage.id).desc()).limit(limit)).all()
    return list(reversed(rows))


@dataclass
class Exchange:
    """A question with its answer, the learner's rating and a teacher's correction (when there are any)."""

    question: TutorMessage
    answer: TutorMessage | None
    rating: AnswerRating | None = None
    correction: TeacherCorrection | None = None
    learner: User | None = None


def _exchanges(session: Session, messages: list[TutorMessage]) -> list[Exchange]:
    answers = {m.reply_to_id: m for m in messages if m.role == "tutor"}
    answer_ids = [m.id for m in answers.values()]
    ratings = {r.message_id: r for r in session.exec(select(AnswerRating).where(
        col(AnswerRating.message_id).in_(answer_ids)))} if answer_ids else {}
    corrections = {c.message_id: c for c in session.exec(select(TeacherCorrection).where(
        col(TeacherCorrection.message_id).in_(answer_ids)))} if answer_ids else {}
    result = []
    for message in (m for m in messages if m.role == "learner"):
        reply = answers.get(message.id)
        result.append(Exchange(message, reply, ratings.get(reply.id) if reply else None,
                               corrections.get(reply.id) if reply else None))
    return result


def exchanges(session: Session, user: User, course: str | None, lesson: str | None, quiz: str | None,
              limit: int = 20) -> list[Exchange]:
    """The learner's recent exchanges with the tutor on one lesson or quiz, oldest first."""
    return _exchanges(session, history(session, user, course, lesson, quiz, 2 * limit))


def class_exchanges(session: Session, classroom_id: int, limit: int = 100) -> list[Exchange]:
    """What a teacher sees: the tutor conversations of the learners in one class since each joined, newest
    first (the caller checks that the teacher may see them: `institutions.service.class_with_learner_data`)."""
    from gennation.platform.institutions.models import ClassMember
    rows = session.exec(select(TutorMessage, User).select_from(TutorMessage)
                        .join(Conversation, Conversation.id == TutorMessage.conversation_id)
                        .join(User, User.id == Conversation.user_id)
                        .join(ClassMember, ClassMember.user_id == User.id)
                        .where(ClassMember.classroom_id == classroom_id,
                               TutorMessage.created_at >= ClassMember.joined_at)
                        .order_by(col(TutorMessage.id).desc()).limit(2 * limit)).all()
    learners = {message.conversation_id: user for message, user in rows}
    found = _exchanges(session, sorted((m for m, _ in rows), key=lambda m: m.id))
    for exchange in found:
        exchange.learner = learners[exchange.question.conversation_id]
    return list(reversed(found))


def correct(session: Session, teacher: User, message_id: int, text: str) -> TeacherCorrection:
    """A confirmed teacher marks one of the tutor's answers to a learner in their class (given after the
    learner joined) as wrong, with a correction."""
    from gennation.platform.institutions.service import teaches
    message = session.get(TutorMessage, message_id)
    conversation = session.get(Conversation, message.conversation_id) if message else None
    if message is None or message.role != "tutor" or not teaches(session, teacher, conversation.user_id,
                                                                 at=message.created_at):
        raise NotFound
    text = text.strip()
    if not text or len(text) > 1000:
        raise InvalidField("correction", N_("Write a correction of 1 to 1000 characters."))
    correction = session.exec(select(TeacherCorrection).where(TeacherCorrection.message_id == message_id)).first() \
        or TeacherCorrection(message_id=message_id, teacher_id=teacher.id, correction=text)
    correction.correction = text
    session.add(correction)
    return correction


@dataclass
class Oversight:
    answers: int
    by_kind: dict[str, int]
    helpful: int
    wrong: int
    corrected: int
    flagged_lessons: list[tuple[str, str, int]]  # course, lesson, answers rated wrong or corrected


def oversight(session: Session) -> Oversight:
    """For admins: how the tutor's answers are rated, and the lessons whose answers are flagged most."""
    by_kind = dict(session.exec(select(TutorMessage.kind, func.count()).where(TutorMessage.role == "tutor")
                                .group_by(TutorMessage.kind)).all())
    helpful = dict(session.exec(select(AnswerRating.helpful, func.count()).group_by(AnswerRating.helpful)).all())
    corrected = session.exec(select(func.count()).select_from(TeacherCorrection)).one()
    flagged_ids = set(session.exec(select(AnswerRating.message_id).where(AnswerRating.helpful == False)))  # noqa: E712
    flagged_ids |= set(session.exec(select(TeacherCorrection.message_id)))
    counts: dict[tuple[str, str], int] = {}
    if flagged_ids:
        for course, lesson in session.exec(select(Conversation.course, Conversation.lesson).join(TutorMessage)
                                           .where(col(TutorMessage.id).in_(flagged_ids))):
            key = (course or "", lesson or "")
            counts[key] = counts.get(key, 0) + 1
    flagged = sorted(((c, l, n) for (c, l), n in counts.items()), key=lambda row: -row[2])[:10]
    return Oversight(sum(by_kind.values()), {str(k): v for k, v in by_kind.items()}, helpful.get(True, 0),
                     helpful.get(False, 0), corrected, flagged)
