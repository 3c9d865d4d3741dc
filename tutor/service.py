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

from sqlmodel import Session, col, func, select

from gennation.courses import service as courses
from gennation.courses.models import Course, QuestionKind
from gennation.courses.source import read_glossary
from gennation.platform.accounts.models import User
from gennation.platform.database import utcnow
from gennation.platform.i18n import N_, gettext
from gennation.tutor import guard
from gennation.tutor.engine import Job, TutorUnavailable
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


class TutorError(Exception):
    """A question the tutor will not take now; `message` is a message id shown to the learner."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Question:
    text: str
    interface_lang: str
    user: User
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

    def __init__(self, backend, content_dir: Path):
        self.backend = backend
        self.content_dir = content_dir
        self.questions_per_minute = QUESTIONS_PER_MINUTE
        self._indexes: dict[str, tuple[str, LessonIndex]] = {}

    def index(self, session: Session, lang: str) -> LessonIndex:
        """The lesson index of `lang`, rebuilt when any course's content version changes."""
        version = "|".join(session.exec(select(Course.content_version).order_by(Course.id)))
        cached = self._indexes.get(lang)
        if cached is None or cached[0] != version:
            glossary, _errors = read_glossary(self.content_dir)
            terms = [str(entry["term"]) for entry in glossary.get(lang, {}).values()]
            cached = (version, LessonIndex.build(session, lang, terms))
            self._indexes[lang] = cached
        return cached[1]

    def start(self) -> None:
        if hasattr(self.backend, "start"):
            self.backend.start()

    def close(self) -> None:
        if hasattr(self.backend, "close"):
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


def _quiz_keys(session: Session, user: User, course_slug: str | None, quiz_slug: str | None) -> list[guard.QuizKey]:
    """The keys of the learner's ungraded attempt at this quiz, in both languages: what must not leak."""
    course = courses.get_course(session, course_slug) if course_slug else None
    quiz = courses.get_quiz(session, course, quiz_slug) if course and quiz_slug else None
    if quiz is None:
        return []
    attempt = courses.open_attempt(session, user, quiz)
    keys = []
    for question in courses.attempt_questions(session, attempt):
        key = guard.QuizKey()
        for text in question.text.values():
            if question.kind in (QuestionKind.single, QuestionKind.multiple):
                key.texts += [o["text"] for o in text["options"] if o["id"] in question.key["correct"]]
            elif question.kind == QuestionKind.ordering:
                items = {i["id"]: i["text"] for i in text["items"]}
                key.order = [items[i] for i in question.key["order"]]
        if question.kind == QuestionKind.numeric:
            key.numbers.append(float(question.key["answer"]))
        keys.append(key)
    return keys


def _check_limits(session: Session, user: User, per_minute: int) -> None:
    since = utcnow() - timedelta(minutes=1)
    recent = session.exec(select(func.count()).select_from(TutorMessage).join(Conversation).where(
        Conversation.user_id == user.id, TutorMessage.role == "learner", TutorMessage.created_at >= since)).one()
    if recent >= per_minute:
        raise TutorError(N_("You have asked many questions in a minute. Please wait a minute and ask again."), 429)


def _conversation(session: Session, question: Question) -> Conversation:
    found = session.exec(select(Conversation).where(
        Conversation.user_id == question.user.id, Conversation.course == question.course,
        Conversation.lesson == question.lesson, Conversation.quiz == question.quiz)).first()
    if found is None:
        found = Conversation(user_id=question.user.id, course=question.course, lesson=question.lesson,
                             quiz=question.quiz)
        session.add(found)
        session.commit()
        session.refresh(found)
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

    def __init__(self, lang: str, keys: list[guard.QuizKey]):
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


def submit(session: Session, runtime: TutorRuntime, question: Question) -> TutorMessage:
    """Check and keep a learner's question (personal data masked first); `answer` then answers it."""
    text = question.text.strip()
    if not text:
        raise TutorError(N_("Please type a question."), 422)
    if len(text) > MAX_QUESTION:
        raise TutorError(N_("Please keep your question under 1000 characters."), 422)
    if not runtime.available:
        raise TutorError(N_("The tutor is not available right now. The lessons and quizzes work as usual."), 503)
    _check_limits(session, question.user, runtime.questions_per_minute)
    masked = guard.mask_personal_data(text)
    conversation = _conversation(session, question)
    message = TutorMessage(conversation_id=conversation.id, role="learner", text=masked.text,
                           lang=guard.question_language(masked.text, question.interface_lang),
                           personal_data=masked.found)
    session.add(message)
    session.commit()
    session.refresh(message)
    return message


def pending_question(session: Session, user: User, message_id: int) -> tuple[TutorMessage, Conversation]:
    """The learner's own question that has no answer yet, or LookupError."""
    message = session.get(TutorMessage, message_id)
    conversation = session.get(Conversation, message.conversation_id) if message else None
    answered = session.exec(select(TutorMessage.id).where(TutorMessage.reply_to_id == message_id)).first()
    if message is None or message.role != "learner" or conversation.user_id != user.id or answered:
        raise LookupError(message_id)
    return message, conversation


async def answer(session: Session, runtime: TutorRuntime, user: User, message_id: int) -> AsyncIterator[dict]:
    """Answer a submitted question. Yields {"type": "position"|"text"|"reset"|"final", ...}."""
    question, conversation = pending_question(session, user, message_id)
    backend = runtime.backend
    if await backend.active_count(user.id) >= 1:
        raise TutorError(N_("The tutor is still answering your previous question. Please wait for it."), 429)
    lang = question.lang
    masked = guard.Masked(question.text, question.personal_data)
    course, lesson_slug = conversation.course, conversation.lesson
    index = runtime.index(session, lang)
    current = index.lesson_passages(course, lesson_slug) if lesson_slug else []
    lesson = (current[0].lesson_title, index.key_ideas.get((course, lesson_slug), "")) if current else None
    hits = index.search(masked.text, (course, lesson_slug) if lesson_slug else None)
    keys = _quiz_keys(session, user, course, conversation.quiz)
    kind, stats, reply = AnswerKind.answer, {}, ""

    if guard.is_harmful(masked.text):
        kind, reply = AnswerKind.refusal, _refusal(lang, "harmful")
    elif guard.is_injection(masked.text):
        kind, reply = AnswerKind.refusal, _refusal(lang, "injection")
    elif not index.on_topic(masked.text, hits, OFF_TOPIC_SCORE):
        if keys:  # "which answer is right?" on a quiz page: help to think instead
            kind, reply = AnswerKind.hint, _hint(lang, hits, current)
        else:
            kind, reply = AnswerKind.refusal, _refusal(lang, "off_topic")
    else:
        for attempt in range(2):  # a second try, with a firmer instruction, when the first one fails
            gate = _Gate(lang, keys)
            job = Job(build_messages(masked.text, lang, lesson, hits, quiz_mode=bool(keys), firmer=attempt > 0),
                      MAX_TOKENS, user.id)
            try:
                async with contextlib.aclosing(backend.stream(job)) as events:
                    async for event in events:
                        if event["type"] == "position" and event["position"] > 0:
                            yield {"type": "position", "position": event["position"]}
                        elif event["type"] == "token":
                            shown = gate.add(event["text"])
                            if shown:
                                yield {"type": "text", "text": shown}
                            if gate.leaked or gate.drifted:
                                break  # leaving the stream cancels the generation
                        elif event["type"] == "done":
                            stats = event
                        elif event["type"] == "error":
                            raise TutorError(N_("The tutor could not answer just now. Please try again."), 503)
            except TutorUnavailable:
                raise TutorError(N_("The tutor is not available right now. The lessons and quizzes work as "
                                    "usual."), 503) from None
            rest = gate.finish()
            if rest:
                yield {"type": "text", "text": rest}
            if gate.leaked:
                kind, reply = AnswerKind.hint, _hint(lang, hits, current)
                break
            candidate = _clean(gate.text, lang)
            if candidate and guard.is_in_language(candidate, lang) and not _echoes(candidate, masked.text, lang):
                reply = candidate
                break
            log.info("tutor attempt %s rejected (%s): %r", attempt + 1,
                     "drifted" if gate.drifted else "language" if candidate and not guard.is_in_language(
                         candidate, lang) else "echo or empty", candidate[:200])
            if gate.shown:
                yield {"type": "reset"}
        else:  # on a quiz page a lesson quote could hold the key: a hint instead
            kind, reply = (AnswerKind.hint, _hint(lang, hits, current)) if keys else \
                (AnswerKind.fallback, _fallback(lang, hits, current))

    sources = [] if kind == AnswerKind.refusal else _sources(hits, current, lang)
    message = TutorMessage(conversation_id=conversation.id, role="tutor", reply_to_id=question.id, text=reply,
                           lang=lang, kind=kind, sources=sources, ttft_ms=stats.get("ttft_ms"),
                           total_ms=stats.get("total_ms"))
    session.add(message)
    session.commit()
    session.refresh(message)
    yield {"type": "final", "answer": Answer(reply, lang, kind, sources, conversation.id, message.id,
                                             masked.found, stats.get("ttft_ms"), stats.get("total_ms"),
                                             stats.get("tokens", 0))}


async def ask(session: Session, runtime: TutorRuntime, question: Question) -> Answer:
    """Submit and answer a question, the whole answer at once (JSON API, evaluation, no-JavaScript
    page): the same steps as the streamed page."""
    message = submit(session, runtime, question)
    async for event in answer(session, runtime, question.user, message.id):
        if event["type"] == "final":
            return event["answer"]
    raise RuntimeError("the tutor gave no final answer")


def rate(session: Session, user: User, message_id: int, helpful: bool, comment: str = "") -> AnswerRating:
    """A learner rates one of the tutor's answers to them (again: the latest rating counts)."""
    message = session.get(TutorMessage, message_id)
    conversation = session.get(Conversation, message.conversation_id) if message else None
    if message is None or message.role != "tutor" or conversation.user_id != user.id:
        raise LookupError(message_id)
    rating = session.exec(select(AnswerRating).where(AnswerRating.message_id == message_id)).first() \
        or AnswerRating(message_id=message_id, user_id=user.id, helpful=helpful)
    rating.helpful, rating.comment = helpful, comment.strip()[:500]
    session.add(rating)
    session.commit()
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
    """What a teacher sees: the tutor conversations of the learners in one class, newest first."""
    from gennation.platform.institutions.models import ClassMember
    rows = session.exec(select(TutorMessage, User).select_from(TutorMessage)
                        .join(Conversation, Conversation.id == TutorMessage.conversation_id)
                        .join(User, User.id == Conversation.user_id)
                        .join(ClassMember, ClassMember.user_id == User.id)
                        .where(ClassMember.classroom_id == classroom_id)
                        .order_by(col(TutorMessage.id).desc()).limit(2 * limit)).all()
    learners = {message.conversation_id: user for message, user in rows}
    found = _exchanges(session, sorted((m for m, _ in rows), key=lambda m: m.id))
    for exchange in found:
        exchange.learner = learners[exchange.question.conversation_id]
    return list(reversed(found))


def correct(session: Session, teacher: User, message_id: int, text: str) -> TeacherCorrection:
    """A teacher marks one of the tutor's answers to a learner in their class as wrong, with a correction."""
    from gennation.platform.institutions.service import teaches
    message = session.get(TutorMessage, message_id)
    conversation = session.get(Conversation, message.conversation_id) if message else None
    if message is None or message.role != "tutor" or not teaches(session, teacher, conversation.user_id):
        raise LookupError(message_id)
    text = text.strip()
    if not text or len(text) > 1000:
        raise TutorError(N_("Write a correction of 1 to 1000 characters."), 422)
    correction = session.exec(select(TeacherCorrection).where(TeacherCorrection.message_id == message_id)).first() \
        or TeacherCorrection(message_id=message_id, teacher_id=teacher.id, correction=text)
    correction.correction = text
    session.add(correction)
    session.commit()
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
