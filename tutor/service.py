"""The tutor: answers grounded in the lessons, in the learner's language, never giving away quiz keys.

`ask` runs one question through every step and yields events for the page (or collects them for
the API): where the question waits in the queue, the answer's text as it is generated and checked,
and the final answer with its sources. The checks run on the server before text is shown.
"""
from __future__ import annotations

import contextlib
import logging
import re
import time
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
from gennation.platform import observability
from gennation.platform.accounts.models import User
from gennation.platform.database import Database, utcnow
from gennation.platform.errors import InvalidField, NotFound, RateLimited, Unavailable
from gennation.platform.i18n import N_, gettext
from gennation.platform.settings import CONTENT_LANGUAGES
from gennation.tutor import checks, guard
from gennation.tutor.engine import Job, LearnerBusy, TutorUnavailable
from gennation.tutor.models import AnswerKind, AnswerRating, Conversation, TeacherCorrection, TutorMessage
from gennation.tutor.prompt import LABELS, MAX_TOKENS, QUIZ_MAX_TOKENS, build_messages
from gennation.tutor.retrieval import Definition, Hit, LessonIndex, Passage

log = logging.getLogger("gennation.tutor")
MAX_QUESTION = 1000
QUESTIONS_PER_MINUTE = 6
OFF_TOPIC_SCORE = 10.0  # best section's BM25 score under which no lesson speaks of the question (see tests/tutor)
LANGUAGE_CHECK_CHARS = 60  # text held back until its language is confirmed
SENTENCE_END = re.compile(r"[.!?…]\s|\n")
MAX_STATEMENTS = 3  # sentences of simpler wording shown, then at most one guiding question
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
    """TUTOR_BACKEND's backend; unset: Celery workers behind Redis when REDIS_URL is set, else the embedded
    model worker."""
    choice = settings.tutor_backend or ("celery" if settings.redis_url else "embedded")
    if choice == "openai":
        from gennation.tutor.engine import MemorySlots, OpenAIBackend, RedisSlots
        slots = RedisSlots(settings.redis_url) if settings.redis_url else MemorySlots()
        return TutorRuntime(OpenAIBackend(settings.tutor_api_base, settings.tutor_api_model,
                                          settings.tutor_api_concurrency, slots, settings.tutor_api_key),
                            settings.content_dir)
    if choice == "celery":
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
            cached = (version, LessonIndex.build(session, lang, self.content_dir, glossary_terms(self.content_dir, lang)))
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
    for passage in [*(hit.passage for hit in hits), *current[:1]]:
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


def _lead(lang: str, passage: Passage | None, excerpt: str, definition: Definition | None) -> str:
    """The first words of an answer: the glossary definition (for "what is X") and what the lesson says
    (its key idea on the point, and the sentences of its best section), each introduced as what it is."""
    parts = []
    if definition is not None:
        parts.append(gettext(lang, "From the glossary:") + f" {definition.term} — {definition.definition}")
    if passage is not None and excerpt:
        parts.append(gettext(lang, "The lesson «%(lesson)s» says:", lesson=passage.lesson_title) + f" «{excerpt}»")
    return "\n\n".join(parts)


def _compose(index: LessonIndex, passage: Passage, question: str,
             definition: Definition | None) -> tuple[Passage, str]:
    """The lesson's key idea on the point, then the sentences of the lesson that speak to the question
    most, with the section they come from."""
    idea = index.key_idea(passage.course, passage.lesson, question, 2, summary=definition is None)
    words = (25 if definition else 35) if idea else (30 if definition else None)
    section, excerpt = index.best_part(passage, question, words)
    if idea and checks.copies(idea, excerpt):
        return section, excerpt
    return section, f"{idea} … {excerpt}" if idea and excerpt else idea or excerpt


def _pointer(lang: str, passage: Passage | None) -> str:
    """Where in the lesson to look (quiz pages: the section, never its text)."""
    if passage is None:
        return ""
    if passage.heading:
        return gettext(lang, "Look again at the section «%(section)s» of the lesson «%(lesson)s».",
                       section=passage.heading, lesson=passage.lesson_title)
    return gettext(lang, "Look again at the lesson «%(lesson)s».", lesson=passage.lesson_title)


def _hint(lang: str, passage: Passage | None, guiding: str = "", keys: list[AnswerKey] = ()) -> str:
    """A hint: where in the lesson to look and a guiding question. A part that would match a key (a section
    heading can read like an option) is left out: the whole hint is checked like any answer."""
    opening = _hint_opening(lang)
    static = gettext(lang, "Which option matches what the lesson says, and why?")
    pointer = _pointer(lang, passage)
    for parts in ([opening, pointer, guiding or static], [opening, pointer, static], [opening, static]):
        text = " ".join(part for part in parts if part)
        if not keys or not guard.leaks(text, keys):
            return text
    return opening


def _hint_opening(lang: str) -> str:
    return gettext(lang, "I will not tell you the answer to a quiz question, but here is a hint: find the "
                         "part of the lesson that speaks about it and compare each option with it.")


def _hint_start(lang: str, passage: Passage | None, keys: list[AnswerKey] = ()) -> str:
    """The first words of a hint, shown at once while the model writes the guiding question: the opening
    and where to look (left out when it would match a key)."""
    text = " ".join(part for part in (_hint_opening(lang), _pointer(lang, passage)) if part)
    return _hint_opening(lang) if keys and guard.leaks(text, keys) else text


class _Gate:
    """Decides what generated text may be shown, and when.

    Text is let through a whole sentence at a time. Its language is checked as soon as there is enough
    of it (a drifting answer is cut off and retried). Each sentence is checked before it is shown: on a
    quiz page with an ungraded attempt against the quiz keys (a leak ends the answer); in an answer,
    that it is real text of the language, not an echo of the question, and supported by the passage
    (`support`), or it is left out. After three statements and one question the answer is complete.
    """

    def __init__(self, lang: str, keys: list[AnswerKey], question: str = "", support: set[str] | None = None,
                 vocabulary: set[str] | None = None, source: str = "", term: str = ""):
        self.lang, self.keys, self.question, self.source, self.term = lang, keys, question, source, term
        self.support, self.vocabulary = support, vocabulary
        self.text = ""
        self.position = 0  # generated text up to here has been decided on
        self.kept: list[str] = []
        self.dropped: list[str] = []
        self.drifted = False
        self.leaked = False
        self.complete = False
        self._language_checked = False

    @property
    def shown(self) -> str:
        return " ".join(self.kept)

    @property
    def statements(self) -> int:
        return sum(not s.endswith("?") for s in self.kept)

    def add(self, piece: str) -> str:
        """Add generated text; return the part that may be shown now."""
        self.text += piece
        if self.complete or self.leaked:
            return ""
        if not self._language_checked and len(self.text) >= LANGUAGE_CHECK_CHARS:
            self._language_checked = True
            self.drifted = not guard.is_in_language(self.text, self.lang)
        if self.drifted:
            return ""
        ready = ""
        for end in [m.end() for m in SENTENCE_END.finditer(self.text, self.position)]:
            sentence, self.position = self.text[self.position:end], end
            ready += self._decide(sentence)
            if self.leaked or self.complete:
                break
        return ready

    def finish(self) -> str:
        """The rest, once generation has ended (decided on like a sentence)."""
        if self.drifted or self.leaked or self.complete:
            return ""
        if not self._language_checked and len(self.text.strip()) >= 12:
            self.drifted = not guard.is_in_language(self.text, self.lang)
            if self.drifted:
                return ""
        rest, self.position = self.text[self.position:], len(self.text)
        if not re.search(r"[.!?…»\"]\s*$", rest):
            return ""  # cut off by the token limit mid-sentence: a fragment is not shown
        return self._decide(rest)

    def _decide(self, sentence: str) -> str:
        if re.match(rf"^\s*({'|'.join(LABELS[self.lang].values())})\s*:", sentence):
            self.complete = True  # the model began writing the next prompt itself
            return ""
        sentence = _clean(sentence, self.lang).strip()
        if len(re.findall(r"\w+", sentence)) < 2:
            return ""
        if self.keys and guard.leaks(" ".join([*self.kept, sentence]), self.keys):
            self.leaked = True
            return ""
        problem = checks.problem(sentence, self.lang, self.question, self.support, self.vocabulary, self.source,
                                 self.term)
        if problem:
            self.dropped.append(f"{problem}: {sentence}")
            return ""
        is_question = sentence.endswith("?")
        if is_question and any(s.endswith("?") for s in self.kept):
            return ""
        if not is_question and (self.statements >= MAX_STATEMENTS or len(sentence.split()) < 4):
            return ""  # at most three statements, each a whole sentence
        self.kept.append(sentence)
        if is_question and (self.statements or self.support is None):
            self.complete = True
        return ("" if len(self.kept) == 1 else " ") + sentence


def _clean(text: str, lang: str) -> str:
    """Drop a label the small model puts at the start of a sentence ("Text:", "Текст («…»):", "Мүтін:")."""
    return re.sub(r"^\s*[^\W\d_]+(\s*\(«[^»]*»\))?\s*:\s+", "", text)


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
    keys: list[AnswerKey]  # of the learner's ungraded quiz attempts: what must not leak
    quiz_page: bool  # asked on the page of a quiz the learner is sitting: hints, not answers
    decided: tuple[AnswerKind, str] | None = None  # a reply that needs no model (refusal, hint)
    passage: Passage | None = None  # the section the answer is built from
    excerpt: str = ""  # its sentences that speak to the question
    definition: Definition | None = None  # the glossary's, for "what is X" about a glossary term
    lead: str = ""  # shown first, at once: the definition and the excerpt, introduced
    support: set[str] = field(default_factory=set)  # words the model's sentences must come from
    vocabulary: set[str] = field(default_factory=set)  # words the lessons of the language use


def prepare(session: Session, runtime: TutorRuntime, user_id: int, message_id: int) -> Prepared:
    """Phase one: the question, retrieval, quiz keys (read only), the guards' decision and the first words."""
    question, conversation = pending_question(session, user_id, message_id)
    lang, course, lesson_slug = question.lang, conversation.course, conversation.lesson
    masked = guard.Masked(question.text, question.personal_data)
    index = runtime.index(session, lang)
    current = index.lesson_passages(course, lesson_slug) if lesson_slug else []
    page = (course, lesson_slug) if lesson_slug else None
    hits = index.search(masked.text, page)
    open_keys = courses.open_attempt_keys(session, user_id, course, conversation.quiz)
    prepared = Prepared(user_id, question.id, conversation.id, lang, masked, hits, current,
                        open_keys.keys, open_keys.on_page)
    if guard.is_harmful(masked.text):
        prepared.decided = (AnswerKind.refusal, _refusal(lang, "harmful"))
        return prepared
    if guard.is_injection(masked.text):
        prepared.decided = (AnswerKind.refusal, _refusal(lang, "injection"))
        return prepared
    passage = hits[0].passage if hits else (current[0] if current else None)
    prepared.passage = passage
    if not index.on_topic(masked.text, hits, OFF_TOPIC_SCORE, page):
        # "which answer is right?" on a quiz page: help to think instead
        prepared.decided = (AnswerKind.hint, _hint(lang, current[0] if current else None, keys=prepared.keys)) \
            if prepared.quiz_page else (AnswerKind.refusal, _refusal(lang, "off_topic"))
        return prepared
    prepared.definition = index.definition_for(masked.text)
    if passage:
        passage, prepared.excerpt = _compose(index, passage, masked.text, prepared.definition)
        prepared.passage = passage
    # the model's sentences must come from what the learner sees: the lesson's words shown and the definition
    prepared.support = checks.support_set(lang, prepared.excerpt,
                                          prepared.definition.definition if prepared.definition else "",
                                          prepared.definition.term if prepared.definition else "")
    prepared.vocabulary = index.vocabulary()
    if not prepared.quiz_page:
        lead = _lead(lang, passage, prepared.excerpt, prepared.definition)
        # an exam left open elsewhere: the lesson is quoted only where it gives no key away
        prepared.lead = "" if prepared.keys and guard.leaks(lead, prepared.keys) else lead
    return prepared


@dataclass
class Outcome:
    """What generation produced: the reply to keep, its kind, timing, and what the learner saw."""

    kind: AnswerKind = AnswerKind.answer
    reply: str = ""
    shown: str = ""
    stats: dict = field(default_factory=dict)
    cut_off: bool = False  # the learner left before the answer was complete
    rejected: list[str] = field(default_factory=list)  # why model text was not shown (for the evaluation)
    simpler: str = ""  # the model's checked wording, without the lead


async def generate(runtime: TutorRuntime, prepared: Prepared, outcome: Outcome) -> AsyncIterator[dict]:
    """Phase two, with no database session. The lead (what the lesson says) is yielded first, at once;
    then the model's simpler wording, a checked sentence at a time.
    Yields {"type": "passage"|"position"|"text"|"reset"}; fills `outcome`."""
    if prepared.decided:
        outcome.kind, outcome.reply = prepared.decided
        return
    lang, keys, backend = prepared.lang, prepared.keys, runtime.backend
    quiz = prepared.quiz_page or not prepared.lead  # hints only: a guiding question, never the lesson's text
    # shown first, at once: what the lesson says; on a quiz page, the hint's opening and where to look
    lead = _hint_start(lang, prepared.passage, keys) if quiz else prepared.lead
    label = "" if quiz else gettext(lang, "In simpler words:") + " "
    for attempt in range(2):  # a second try, with a firmer instruction, when the first one drifts
        gate = _Gate(lang, keys, prepared.masked.text, None if quiz else prepared.support, prepared.vocabulary, lead,
                     prepared.definition.term if prepared.definition else "")
        outcome.shown = lead
        messages = build_messages(prepared.masked.text, lang, prepared.excerpt,
                                  prepared.definition.definition if prepared.definition else "",
                                  quiz_mode=quiz, firmer=attempt > 0)
        job = Job(messages, (QUIZ_MAX_TOKENS if quiz else MAX_TOKENS)[lang], prepared.user_id)
        asked_at, first_token_at = time.monotonic(), None
        try:
            async with contextlib.aclosing(backend.stream(job)) as events:
                # The learner's slot is taken and the job queued first (a busy learner is told so), then
                # the lesson's words are shown while the model works on the simpler wording.
                first = await events.__anext__()
                if attempt == 0 and lead:
                    outcome.shown = lead
                    yield {"type": "passage", "text": lead}
                async for event in _after(first, events):
                    if event["type"] == "position" and event["position"] > 0:
                        yield {"type": "position", "position": event["position"]}
                    elif event["type"] == "token":
                        first_token_at = first_token_at or time.monotonic()
                        shown = gate.add(event["text"])
                        if shown:
                            yield {"type": "text", "text": _shown(outcome, lead, label, shown)}
                        if gate.leaked or gate.drifted or gate.complete:
                            break  # leaving the stream cancels the generation
                    elif event["type"] == "done":
                        outcome.stats = event
                        observability.tutor_generated(lang, asked_at, first_token_at, event)
                    elif event["type"] == "error":
                        raise Unavailable(N_("The tutor could not answer just now. Please try again."))
        except TutorUnavailable:
            raise Unavailable(UNAVAILABLE) from None
        except LearnerBusy:
            raise RateLimited(N_("The tutor is still answering your previous question. Please wait for it.")) from None
        rest = gate.finish()
        if rest:
            yield {"type": "text", "text": _shown(outcome, lead, label, rest)}
        outcome.rejected += gate.dropped + (["drifted"] if gate.drifted else []) + (["leaked"] if gate.leaked else [])
        if gate.leaked:
            outcome.kind, outcome.reply = AnswerKind.hint, _hint(lang, prepared.passage, keys=keys)
            return
        if quiz:
            guiding = gate.shown if gate.shown.endswith("?") and not gate.drifted else ""
            if guiding or attempt == 1 or not gate.drifted:
                outcome.kind, outcome.reply = AnswerKind.hint, _hint(lang, prepared.passage, guiding, keys)
                outcome.simpler = guiding
                return
        elif gate.statements:
            outcome.simpler = gate.shown
            outcome.reply = f"{lead}\n\n{label}{gate.shown}"
            return
        elif not gate.drifted:
            break  # an answer with nothing supported: the lesson's words alone, not a second try
        log.info("tutor attempt %s rejected (%s): %r", attempt + 1, "drifted" if gate.drifted else "unsupported",
                 gate.text[:200])
        if outcome.shown != lead:
            yield {"type": "reset"}
    if quiz:
        outcome.kind, outcome.reply = AnswerKind.hint, _hint(lang, prepared.passage, keys=keys)
    else:
        outcome.kind, outcome.reply = AnswerKind.fallback, lead


async def _after(first: dict, events: AsyncIterator[dict]) -> AsyncIterator[dict]:
    yield first
    async for event in events:
        yield event


def _shown(outcome: Outcome, lead: str, label: str, piece: str) -> str:
    """Add `piece` of checked simpler wording to what the learner has seen; return the text to append."""
    start = outcome.shown == lead
    text = (("\n\n" if lead else "") + label if start else "") + piece
    outcome.shown += text
    return text


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
    """Answer a submitted question. Yields {"type": "passage"|"position"|"text"|"reset"|"final", ...}.

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
    yield {"type": "final", "answer": await db.run(record, prepared, outcome), "outcome": outcome}


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
