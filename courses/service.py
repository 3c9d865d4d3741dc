"""The course engine: loading sources, the catalogue, progress, quizzes graded on the server.

Functions work on the caller's session and only flush: the request (or CLI command, or task) that
calls them commits once, so a failure anywhere leaves nothing half-written.
"""
from __future__ import annotations

import math
import random
import secrets
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, event, literal_column, null, or_, union_all, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel, col, func, select

from gennation.courses import outline
from gennation.courses.models import (
    Course, CourseCompletion, Enrollment, Lesson, LessonProgress, Module, Question, QuestionKind, Quiz,
    QuizAttempt,
)
from gennation.courses.outline import (
    Catalogue, CourseOutline, LessonOutline, ModuleOutline, QuestionItem, QuizOutline,
)
from gennation.courses.rendering import render_lesson
from gennation.courses.source import CourseSource, QuizSource, plain_text
from gennation.platform.accounts.models import User
from gennation.platform.audit import service as audit
from gennation.platform.database import utcnow
from gennation.platform.errors import InvalidField, NotFound, RateLimited
from gennation.platform.i18n import N_


# ---------------------------------------------------------------- loading sources

def _upsert(session: Session, model: type[SQLModel], lookup: dict, values: dict) -> SQLModel:
    row = session.exec(select(model).filter_by(**lookup)).first()
    if row is None:
        row = model(**lookup, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def _retire_missing(session: Session, model: type[SQLModel], parent: dict, keep: set[int]) -> None:
    for row in session.exec(select(model).filter_by(**parent)).all():
        if row.id not in keep and not row.retired:
            row.retired = True
            session.add(row)


def _load_quiz(session: Session, course: Course, module: Module | None, source: QuizSource) -> Quiz:
    quiz = _upsert(session, Quiz, {"course_id": course.id, "slug": source.id},
                   {"module_id": module.id if module else None, "pass_mark": source.pass_mark,
                    "draw": source.draw, "retired": False})
    kept = set()
    for position, q in enumerate(source.questions):
        row = _upsert(session, Question, {"quiz_id": quiz.id, "slug": q.id},
                      {"position": position, "kind": QuestionKind(q.kind), "key": q.key, "text": q.text,
                       "module_slug": q.module, "retired": False})
        kept.add(row.id)
    _retire_missing(session, Question, {"quiz_id": quiz.id}, kept)
    return quiz


def load_course(session: Session, source: CourseSource) -> str:
    """Import or update one course. Ids are stable, so learners' progress survives edits.

    Returns "created", "updated" or "unchanged" (same content version).
    """
    session.info.pop("catalogue", None)
    existing = session.exec(select(Course).where(Course.slug == source.id)).first()
    if existing and existing.content_version == source.version and not existing.retired:
        return "unchanged"
    course = _upsert(session, Course, {"slug": source.id}, {
        "position": source.position, "audience": source.audience, "pass_mark": source.pass_mark,
        "hours": source.hours, "completion": source.completion, "title": source.title, "summary": source.summary, "content_version": source.version,
        "retired": False, "updated_at": utcnow(),
    })
    modules_kept, quizzes_kept = set(), set()
    for m_pos, m in enumerate(source.modules):
        module = _upsert(session, Module, {"course_id": course.id, "slug": m.id},
                         {"position": m_pos, "title": m.title, "summary": m.summary, "retired": False})
        modules_kept.add(module.id)
        lessons_kept = set()
        for l_pos, lesson in enumerate(m.lessons):
            row = _upsert(session, Lesson, {"module_id": module.id, "slug": lesson.id}, {
                "position": l_pos, "title": lesson.title, "retired": False,
                "body_html": {lang: render_lesson(md, lang, source.id) for lang, md in lesson.markdown.items()},
                "body_text": {lang: plain_text(md) for lang, md in lesson.markdown.items()},
                "key_ideas": lesson.key_ideas,
            })
            lessons_kept.add(row.id)
        _retire_missing(session, Lesson, {"module_id": module.id}, lessons_kept)
        if m.quiz:
            quizzes_kept.add(_load_quiz(session, course, module, m.quiz).id)
    if source.final_exam:
        quizzes_kept.add(_load_quiz(session, course, None, source.final_exam).id)
    _retire_missing(session, Module, {"course_id": course.id}, modules_kept)
    _retire_missing(session, Quiz, {"course_id": course.id}, quizzes_kept)
    session.flush()
    return "updated" if existing else "created"


def load_courses(session: Session, sources: list[CourseSource]) -> dict[str, str]:
    """Import every course; courses no longer in the sources are retired (hidden, progress kept)."""
    session.info.pop("catalogue", None)  # this unit of work reads the new content from now on
    report = {source.id: load_course(session, source) for source in sources}
    for course in session.exec(select(Course).where(col(Course.slug).not_in(list(report)))).all():
        if not course.retired:
            course.retired = True
            session.add(course)
            report[course.slug] = "retired"
    session.flush()
    # Everyone's courses change: logged as the operator's (the command line or the reload task).
    audit.record(session, None, "content.reloaded", object_type="content", detail={"courses": report})
    return report


# ---------------------------------------------------------------- reading courses

def catalogue(session: Session) -> Catalogue:
    """Every live course as a read model (one query when nothing changed since it was built)."""
    return outline.catalogue(session)


def get_course(session: Session, slug: str) -> CourseOutline:
    """A live course, or NotFound."""
    return catalogue(session).course(slug)


# ---------------------------------------------------------------- a learner's state and progress

@dataclass(frozen=True)
class EnrolledCourse:
    """An enrolment as progress reads it: plain values, kept between requests (see `learner_state`).
    Code that changes an enrolment gets its row from `enroll`."""

    id: int
    course_id: int
    last_lesson_id: int | None
    last_opened_at: datetime | None
    completed_at: datetime | None


@dataclass
class LearnerState:
    """What one learner has done in every course, read in two queries whatever the number of courses.
    An enrolment is an `EnrolledCourse`, or its row once this unit of work has taken it to change it."""

    user_id: int | None
    read: set[int] = field(default_factory=set)
    scores: dict[int, tuple[float, bool]] = field(default_factory=dict)  # quiz id: (best score, ever passed)
    enrollments: dict[int, EnrolledCourse | Enrollment] = field(default_factory=dict)  # course id: enrolment

    def copy(self) -> LearnerState:
        return LearnerState(self.user_id, set(self.read), dict(self.scores), dict(self.enrollments))


# Built once: on every signed-in page, building the statements cost more than running them. Lessons read
# and best quiz scores come in one statement (a lesson's row has no score), as plain rows.
_DONE = union_all(
    select(literal_column("'lesson'"), LessonProgress.lesson_id, null(), null())
    .where(LessonProgress.user_id == bindparam("user_id")),
    select(literal_column("'quiz'"), QuizAttempt.quiz_id, func.max(QuizAttempt.score),
           func.max(case((col(QuizAttempt.passed), 1), else_=0)))
    .where(QuizAttempt.user_id == bindparam("user_id"), col(QuizAttempt.graded_at).is_not(None))
    .group_by(QuizAttempt.quiz_id))
_ENROLLED = select(Enrollment.id, Enrollment.course_id, Enrollment.last_lesson_id, Enrollment.last_opened_at,
                   Enrollment.completed_at).where(Enrollment.user_id == bindparam("user_id"))

# Every signed-in page needs the learner's state, which changes only when they learn. A process keeps it
# under the learner's progress stamp (read with the person, so a hit costs no query), and any change of
# these rows through the ORM replaces the stamp in the same flush (`_replace_progress_stamps`). Attempts
# are opened by a plain insert, which the stamp does not follow: an ungraded attempt counts nowhere. One
# cache per engine, as for the catalogue; the least recently used entries go first.
_PROGRESS_ROWS = (Enrollment, LessonProgress, QuizAttempt)
_KEPT_STATES = 20_000
_states: "weakref.WeakKeyDictionary[Any, OrderedDict[tuple, LearnerState]]" = weakref.WeakKeyDictionary()
_states_lock = threading.Lock()


@event.listens_for(OrmSession, "before_flush")
def _replace_progress_stamps(session: Session, _context, _instances) -> None:
    """A flush that writes someone's progress gives them a new stamp, so no process reads the old state
    again; this session, which may still hold the old stamp, reads progress from the database from now on."""
    learners = {row.user_id for rows in (session.new, session.dirty, session.deleted) for row in rows
                if isinstance(row, _PROGRESS_ROWS)}
    if learners:
        session.info["progress_written"] = True
        users = User.__table__
        session.connection().execute(update(users).where(users.c.id.in_(learners))
                                     .values(progress_stamp=secrets.token_hex(8)))


def learner_state(session: Session, user: User | None) -> LearnerState:
    if user is None:
        return LearnerState(None)
    # Pending changes first: a flush that writes this learner's progress marks the session, which then
    # neither reads the kept state (it lacks them) nor keeps its own (they are not committed yet).
    session.flush()
    keep = bool(user.progress_stamp) and not session.info.get("progress_written")
    if keep:
        key = (user.id, user.progress_stamp, catalogue(session).version)
        with _states_lock:
            kept = _states.setdefault(session.get_bind(), OrderedDict())
            if key in kept:
                kept.move_to_end(key)
                return kept[key].copy()
    who = {"user_id": user.id}
    read, scores = set(), {}
    connection = session.connection()  # plain rows past the ORM (no objects to build), flushed above
    for kind, item, best, passed in connection.execute(_DONE, who):
        if kind == "lesson":
            read.add(item)
        else:
            scores[item] = (best, bool(passed))
    enrollments = {row.course_id: EnrolledCourse(*row) for row in connection.execute(_ENROLLED, who)}
    state = LearnerState(user.id, read, scores, enrollments)
    if keep:
        with _states_lock:
            kept[key] = state.copy()
            if len(kept) > _KEPT_STATES:
                kept.popitem(last=False)
    return state


@dataclass
class ModuleProgress:
    module: ModuleOutline
    lessons: list[tuple[LessonOutline, bool]]
    quiz: QuizOutline | None
    quiz_passed: bool
    best_score: float | None

    @property
    def completed(self) -> bool:
        return all(read for _, read in self.lessons) and (self.quiz is None or self.quiz_passed)


@dataclass
class CourseProgress:
    course: CourseOutline
    enrolled: bool
    modules: list[ModuleProgress]
    final_exam: QuizOutline | None
    final_passed: bool
    final_score: float | None = None
    completed_at: Any = None
    resume: LessonOutline | None = None
    steps_done: int = 0
    steps_total: int = 0

    @property
    def percent(self) -> int:
        return math.floor(100 * self.steps_done / self.steps_total) if self.steps_total else 0

    @property
    def completed(self) -> bool:
        """The one definition of a completed course: every lesson read, every quiz and the final test passed;
        or, for a course completed by its final exam, that exam passed."""
        if self.course.completion == "final_exam":
            return self.final_passed
        return all(m.completed for m in self.modules) and (self.final_exam is None or self.final_passed)


def progress_of(course: CourseOutline, state: LearnerState) -> CourseProgress:
    """Where a learner stands in a course: lessons read, quizzes passed, where to resume. No queries."""
    read, scores = state.read, state.scores
    modules = []
    for module in course.modules:
        best, passed = scores.get(module.quiz.id, (None, False)) if module.quiz else (None, False)
        modules.append(ModuleProgress(module, [(lesson, lesson.id in read) for lesson in module.lessons],
                                      module.quiz, passed, best))
    final = course.final_exam
    final_score, final_passed = scores.get(final.id, (None, False)) if final else (None, False)
    enrollment = state.enrollments.get(course.id)
    progress = CourseProgress(course, enrollment is not None, modules, final, final_passed, final_score,
                              completed_at=enrollment.completed_at if enrollment else None)
    lessons, quizzes = course.lessons, course.quizzes
    progress.steps_total = len(lessons) + len(quizzes)
    progress.steps_done = sum(lesson.id in read for lesson in lessons) + sum(
        scores.get(quiz.id, (0, False))[1] for quiz in quizzes)
    last = enrollment.last_lesson_id if enrollment else None
    unread = next((lesson for lesson in lessons if lesson.id not in read), None)
    progress.resume = next((l for l in lessons if l.id == last), None) if last and last not in read else unread
    if progress.resume is None and lessons and not read:
        progress.resume = lessons[0]
    return progress


def course_progress(session: Session, course: CourseOutline, user: User | None) -> CourseProgress:
    return progress_of(course, learner_state(session, user))


@dataclass
class LessonPlace:
    """Where a lesson sits in its course: for the pager and the "what next" button."""

    previous: LessonOutline | None
    next: LessonOutline | None
    quiz_after: QuizOutline | None  # the module quiz, when this is the module's last lesson
    read: bool


def lesson_place(progress: CourseProgress, lesson: LessonOutline) -> LessonPlace:
    ordered = [(l, read, m) for m in progress.modules for l, read in m.lessons]
    index = next(i for i, (l, _, _) in enumerate(ordered) if l.id == lesson.id)
    _, read, module = ordered[index]
    last_of_module = module.lessons[-1][0].id == lesson.id
    return LessonPlace(ordered[index - 1][0] if index > 0 else None,
                       ordered[index + 1][0] if index + 1 < len(ordered) else None,
                       module.quiz if last_of_module else None, read)


def enroll(session: Session, user: User, course: CourseOutline, state: LearnerState | None = None) -> Enrollment:
    """Enrol a learner (idempotent); returns the enrolment's row, to change it."""
    state = state or learner_state(session, user)
    enrollment = state.enrollments.get(course.id)
    if isinstance(enrollment, Enrollment):
        return enrollment
    if enrollment is None:
        enrollment = Enrollment(user_id=user.id, course_id=course.id)
        session.add(enrollment)
        session.flush()
    else:
        enrollment = session.get(Enrollment, enrollment.id)
    state.enrollments[course.id] = enrollment
    return enrollment


def note_lesson_opened(session: Session, user: User, course: CourseOutline, lesson: LessonOutline,
                       state: LearnerState) -> None:
    """Remember the lesson a learner opened last, so that "continue" takes them back to it, and when, so
    that the time until "I have read this lesson" can be estimated.

    Called from a GET on purpose: opening a lesson is the only signal of where a learner is. It writes
    only for an enrolled learner and only when the lesson changed, or when an unread lesson is opened again
    after longer than a reading counts (the reading starts anew), so reloading a page mostly writes nothing."""
    enrollment = state.enrollments.get(course.id)
    if enrollment is None:
        return
    now = utcnow()
    opened = _utc(enrollment.last_opened_at)
    if enrollment.last_lesson_id != lesson.id or (
            lesson.id not in state.read and (opened is None or now - opened > LESSON_READING_CAP)):
        enrollment = enroll(session, user, course, state)
        enrollment.last_lesson_id = lesson.id
        enrollment.last_opened_at = now
        session.add(enrollment)


# A reading longer than this counts as this long: a tab left open overnight is not hours of study.
LESSON_READING_CAP = timedelta(minutes=20)


def _utc(moment: datetime | None) -> datetime | None:
    """Datetimes read back from SQLite come without a zone; every stored one is UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def reading_seconds(enrollment: Enrollment, lesson_id: int, now: datetime) -> int:
    """Seconds from opening `lesson_id` to now, capped; 0 when its opening was not seen."""
    opened = _utc(enrollment.last_opened_at)
    if enrollment.last_lesson_id != lesson_id or opened is None:
        return 0
    return int(max(timedelta(0), min(now - opened, LESSON_READING_CAP)).total_seconds())


def mark_lesson_read(session: Session, user: User, course: CourseOutline, lesson: LessonOutline) -> CourseProgress:
    """Record a lesson as read (enrolling if needed) and return the updated progress."""
    state = learner_state(session, user)
    enrollment = enroll(session, user, course, state)
    if lesson.id not in state.read:
        now = utcnow()
        session.add(LessonProgress(user_id=user.id, lesson_id=lesson.id, read_at=now,
                                   seconds=reading_seconds(enrollment, lesson.id, now)))
        state.read.add(lesson.id)
    enrollment.last_lesson_id = lesson.id
    session.add(enrollment)
    return complete_if_done(session, user, course, state)


# Subscribers to "a learner completed a course": fn(session, completion). Certificates subscribe here;
# they run inside the same unit of work, and send their tasks with `after_commit`.
completion_hooks: list[Callable[[Session, CourseCompletion], None]] = []


def complete_if_done(session: Session, user: User, course: CourseOutline, state: LearnerState) -> CourseProgress:
    """Decide course completion (the only place that does) and record it once, as a row and an event."""
    progress = progress_of(course, state)
    if progress.completed and progress.completed_at is None:
        enrollment = enroll(session, user, course, state)
        enrollment.completed_at = utcnow()
        session.add(enrollment)
        completion = CourseCompletion(user_id=user.id, course_id=course.id, score=progress.final_score,
                                      hours=course.hours, content_version=course.content_version)
        session.add(completion)
        session.flush()
        for hook in completion_hooks:
            hook(session, completion)
        progress.completed_at = enrollment.completed_at
    return progress


# ---------------------------------------------------------------- quizzes

class AnswerError(InvalidField):
    """A malformed answer: `field` names the question, `message` is a message id."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message)


@dataclass
class QuestionView:
    """A question as shown to a learner: texts only, in the attempt's order, each choice named by its token."""

    id: str
    kind: str
    prompt: str
    options: list[dict] = field(default_factory=list)
    unit: str = ""


DAY = timedelta(days=1)


@dataclass(frozen=True)
class ExamLimits:
    """How often a learner may sit a final exam: a pause after each graded attempt, and a number of
    attempts in any 24 hours. Module quizzes are for learning and have no limits."""

    cooldown: timedelta
    per_day: int

    @classmethod
    def of(cls, settings: Any) -> "ExamLimits":
        return cls(timedelta(minutes=settings.exam_cooldown_minutes), settings.exam_attempts_per_day)


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


class ExamCoolingDown(RateLimited):
    message = N_("You can take the final test again in %(minutes)s min. Meanwhile, review the topics you missed.")

    def __init__(self, retry_after: int):
        super().__init__(retry_after=retry_after, minutes=_minutes(retry_after))


class ExamDailyLimit(RateLimited):
    message = N_("You have used all %(limit)s attempts at the final test for today. "
                 "The next attempt opens in %(hours)s h %(minutes)s min.")

    within_the_hour = N_("You have used all %(limit)s attempts at the final test for today. "
                         "The next attempt opens in %(minutes)s min.")

    def __init__(self, retry_after: int, limit: int):
        hours, minutes = divmod(_minutes(retry_after), 60)
        super().__init__(None if hours else self.within_the_hour, retry_after=retry_after, limit=limit,
                         hours=hours, minutes=minutes)


def exam_refusal(session: Session, user_id: int, quiz: QuizOutline, limits: ExamLimits | None,
                 now: datetime | None = None) -> RateLimited | None:
    """Why the learner may not open a new attempt at this final exam now, or None when they may. Reads only."""
    if limits is None or not quiz.is_final_exam:
        return None
    now = now or utcnow()
    recent = session.exec(select(QuizAttempt.started_at, QuizAttempt.graded_at).where(
        QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz.id,
        or_(QuizAttempt.started_at > now - DAY, QuizAttempt.graded_at > now - limits.cooldown))).all()
    started = sorted(at for at, _ in recent if at > now - DAY)
    if len(started) >= limits.per_day:
        # The window is any 24 hours: a place frees up a day after the oldest attempt that fills it.
        return ExamDailyLimit(math.ceil((started[-limits.per_day] + DAY - now).total_seconds()), limits.per_day)
    graded = max((at for _, at in recent if at is not None), default=None)
    if graded is not None and graded + limits.cooldown > now:
        return ExamCoolingDown(math.ceil((graded + limits.cooldown - now).total_seconds()))
    return None


def find_open_attempt(session: Session, user_id: int, quiz: QuizOutline) -> QuizAttempt | None:
    """The learner's ungraded attempt at a quiz, if any. Reads only: nothing is drawn or stored."""
    return session.exec(select(QuizAttempt).where(
        QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz.id,
        col(QuizAttempt.graded_at).is_(None)).order_by(col(QuizAttempt.id).desc())).first()


def shown(attempt: QuizAttempt, question: QuestionItem) -> list[tuple[str, str]]:
    """(token, option or item id) of a question's choices, in the order this attempt shows them."""
    return [(token, choice) for token, choice in attempt.layout.get(question.slug, [])]


def _fits(attempt: QuizAttempt, quiz: QuizOutline) -> bool:
    """Whether an open attempt still matches the quiz: its questions live, their choices unchanged."""
    live = {q.id: q for q in quiz.questions}
    return all(i in live and sorted(c for _, c in shown(attempt, live[i])) == sorted(live[i].choices)
               for i in attempt.question_ids)


def draw_layout(questions: list[QuestionItem], rng: random.Random) -> dict[str, list[list[str]]]:
    """A random order of every question's choices, each named by a random token unique in the question."""
    layout = {}
    for question in questions:
        order = question.choices
        if not order:
            continue
        rng.shuffle(order)  # any order, the keyed one too: never showing it would tell which one it is
        tokens = [f"{n:06x}" for n in rng.sample(range(1 << 24), len(order))]
        layout[question.slug] = [[token, choice] for token, choice in zip(tokens, order)]
    return layout


def open_attempt(session: Session, user: User, quiz: QuizOutline, limits: ExamLimits | None = None,
                 now: datetime | None = None) -> QuizAttempt:
    """The learner's ungraded attempt at a quiz, or a new one: questions drawn and choices shuffled now.

    `limits` apply to a new attempt at a final exam (ExamCoolingDown, ExamDailyLimit); None only for
    callers that read an attempt's keys rather than let a learner sit the exam (the tutor's evaluation)."""
    attempt = find_open_attempt(session, user.id, quiz)
    if attempt and _fits(attempt, quiz):
        return attempt
    refusal = exam_refusal(session, user.id, quiz, limits, now)
    if refusal:
        raise refusal
    if attempt:  # drawn from questions that have changed since: it can no longer be graded
        session.delete(attempt)
        session.flush()
    # A secret seed per attempt: neither the draw nor the order can be worked out from ids or times.
    rng = random.Random(secrets.randbits(128))
    chosen = list(quiz.questions)
    if quiz.draw and quiz.draw < len(chosen):
        chosen = sorted(rng.sample(chosen, quiz.draw), key=quiz.questions.index)
    values = {"user_id": user.id, "quiz_id": quiz.id, "question_ids": [q.id for q in chosen],
              "layout": draw_layout(chosen, rng), "answers": {}, "results": {}, "started_at": now or utcnow()}
    # One open attempt per learner and quiz (a partial unique index): when a parallel request has just
    # opened one, the insert does nothing and that attempt is the one to sit.
    insert = (sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert)(QuizAttempt)
    session.exec(insert.values(**values).on_conflict_do_nothing(
        index_elements=["user_id", "quiz_id"], index_where=col(QuizAttempt.graded_at).is_(None)))
    return find_open_attempt(session, user.id, quiz)


def attempt_of(session: Session, user: User, attempt_id: int) -> QuizAttempt:
    """One of the learner's own attempts; another learner's is NotFound, as if it did not exist."""
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise NotFound
    return attempt


def attempt_questions(session: Session, attempt: QuizAttempt) -> list[QuestionItem]:
    """The attempt's questions in its order: from the read model, or the database for retired ones."""
    known = catalogue(session)
    items = {i: known.question(i) for i in attempt.question_ids}
    missing = [i for i, item in items.items() if item is None]
    if missing:
        for q in session.exec(select(Question).where(col(Question.id).in_(missing))):
            items[q.id] = QuestionItem.of(q)
    return [items[i] for i in attempt.question_ids if items.get(i) is not None]


def _text(question: QuestionItem, lang: str) -> dict:
    return question.text.get(lang) or next(iter(question.text.values()))


def _choices(question: QuestionItem, lang: str) -> dict[str, dict]:
    text = _text(question, lang)
    return {choice["id"]: choice for choice in text.get("options") or text.get("items") or []}


def question_view(question: QuestionItem, lang: str, attempt: QuizAttempt) -> QuestionView:
    """What the browser may see before grading: never the key, nor an id or order it could follow from."""
    text, choices = _text(question, lang), _choices(question, lang)
    options = [{"id": token, "text": choices[choice]["text"]} for token, choice in shown(attempt, question)]
    return QuestionView(question.slug, question.kind.value, text["prompt"], options, text.get("unit", ""))


def _parse_answer(question: QuestionItem, value: Any, attempt: QuizAttempt) -> Any:
    """Normalise one answer (tokens to the ids of the choices), or raise AnswerError naming the question."""
    kind, slug = question.kind, question.slug
    choice_of = dict(shown(attempt, question))
    if value is None or value == "" or value == []:
        raise AnswerError(slug, N_("Please answer this question."))
    if kind == QuestionKind.true_false and isinstance(value, bool):
        return str(value).lower()  # an API client may answer true/false by meaning, as its texts say
    if kind in (QuestionKind.single, QuestionKind.true_false):
        if not isinstance(value, str) or value not in choice_of:
            raise AnswerError(slug, N_("Choose one of the options."))
        return choice_of[value]
    if kind == QuestionKind.multiple:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) and v in choice_of for v in values):
            raise AnswerError(slug, N_("Choose one or more of the options."))
        return sorted({choice_of[v] for v in values})
    if kind == QuestionKind.numeric:
        try:
            number = float(str(value).replace(",", ".").replace(" ", "").replace("\u00a0", ""))
        except ValueError:
            raise AnswerError(slug, N_("Enter a number, for example 12 or 3.5.")) from None
        if not math.isfinite(number):
            raise AnswerError(slug, N_("Enter a number, for example 12 or 3.5."))
        return number
    if not isinstance(value, list) or sorted(map(str, value)) != sorted(choice_of):
        raise AnswerError(slug, N_("Put every item in a different place."))
    return [choice_of[str(v)] for v in value]


def is_correct(question: QuestionItem, answer: Any) -> bool:
    key = question.key
    if question.kind in (QuestionKind.single, QuestionKind.true_false):
        return [answer] == key["correct"]
    if question.kind == QuestionKind.multiple:
        return answer == key["correct"]
    if question.kind == QuestionKind.numeric:
        return abs(answer - float(key["answer"])) <= float(key["tolerance"]) + 1e-9
    return answer == key["order"]


def parse_answers(questions: list[QuestionItem], answers: dict[str, Any],
                   attempt: QuizAttempt) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalised answers, and {question id: message id} for each malformed one, in question order."""
    parsed, errors = {}, {}
    for question in questions:
        try:
            parsed[question.slug] = _parse_answer(question, answers.get(question.slug), attempt)
        except AnswerError as error:
            errors[error.field] = error.message
    return parsed, errors


def check_answers(questions: list[QuestionItem], answers: dict[str, Any], attempt: QuizAttempt) -> dict[str, str]:
    """Every malformed answer of a submission, {question id: message id}; empty when all are fine."""
    return parse_answers(questions, answers, attempt)[1]


def grade_attempt(session: Session, user: User, attempt: QuizAttempt, answers: dict[str, Any],
                  questions: list[QuestionItem] | None = None) -> QuizAttempt:
    """Grade an attempt on the server, then record course completion if this was the last step.
    Answers name the choices by the attempt's tokens. Raises AnswerError (first bad answer) and changes
    nothing then."""
    if attempt.graded_at is not None:
        raise AnswerError("attempt", N_("This attempt has already been graded. Start a new one."))
    questions = questions if questions is not None else attempt_questions(session, attempt)
    parsed, errors = parse_answers(questions, answers, attempt)
    if errors:
        field_name, message = next(iter(errors.items()))
        raise AnswerError(field_name, message)
    course = catalogue(session).course_of_quiz(attempt.quiz_id)
    quiz = course.quiz_with_id(attempt.quiz_id)
    results = {q.slug: is_correct(q, parsed[q.slug]) for q in questions}
    attempt.answers = parsed
    attempt.results = results
    attempt.score = round(100 * sum(results.values()) / len(results), 1) if results else 0.0
    attempt.passed = attempt.score >= quiz.pass_mark
    attempt.graded_at = utcnow()
    session.add(attempt)
    state = learner_state(session, user)  # flushes the graded attempt first, so its score counts
    enroll(session, user, course, state)
    complete_if_done(session, user, course, state)
    return attempt


@dataclass
class Feedback:
    """One graded question with its explanations and key, choices named by the attempt's tokens."""

    id: str
    kind: str
    prompt: str
    correct: bool
    given: Any
    options: list[dict]
    explanation: str
    key: dict


@dataclass
class Graded:
    """What a learner is told about a graded attempt."""

    feedback: list[Feedback]  # every question with its key; empty for a final exam not passed yet
    review: list[str]  # titles of the modules whose questions were missed (final exams)


def _feedback(question: QuestionItem, attempt: QuizAttempt, lang: str) -> Feedback:
    pairs, choices = shown(attempt, question), _choices(question, lang)
    token_of = {choice: token for token, choice in pairs}
    given, key = attempt.answers.get(question.slug), question.key
    if pairs:  # a choice question: ids to the tokens the learner saw
        given = [token_of[g] for g in given] if isinstance(given, list) else token_of.get(given, given)
        key = {name: [token_of[i] for i in ids] for name, ids in key.items()}
    text = _text(question, lang)
    return Feedback(question.slug, question.kind.value, text["prompt"], bool(attempt.results.get(question.slug)),
                    given, [{**choices[choice], "id": token} for token, choice in pairs],
                    text.get("explanation", ""), key)


def graded(course: CourseOutline, quiz: QuizOutline, questions: list[QuestionItem], attempt: QuizAttempt,
           lang: str) -> Graded:
    """Module quizzes teach: every question comes back with its key. A final exam tells only the score and
    the topics to review until it is passed, so that its keys cannot be collected over attempts."""
    missed = {q.module for q in questions if not attempt.results.get(q.slug)}
    review = [m.title.get(lang, "") for m in course.modules if m.slug in missed]
    if quiz.is_final_exam and not attempt.passed:
        return Graded([], review)
    return Graded([_feedback(q, attempt, lang) for q in questions], review)


@dataclass
class AnswerKey:
    """What an answer must not reveal about one question, in every language: the texts of the keyed
    options, the items in their keyed order, the keyed numbers."""

    texts: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    numbers: list[float] = field(default_factory=list)


def answer_keys(questions: list[QuestionItem]) -> list[AnswerKey]:
    """The keys of an attempt's questions, for the tutor's leak check. The key format stays here."""
    keys = []
    for question in questions:
        key = AnswerKey()
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


@dataclass
class OpenKeys:
    keys: list[AnswerKey]  # of the open attempt at the page's quiz, and of every open final exam
    on_page: bool  # the learner is sitting the quiz of the page the question comes from


def open_attempt_keys(session: Session, user_id: int, course_slug: str | None, quiz_slug: str | None) -> OpenKeys:
    """The keys the tutor must not give away: those of the quiz on the page, and those of every final
    exam the learner has open, whichever page the question comes from (a question asked from a lesson
    must not answer an exam that leads to a certificate). Module quizzes elsewhere are for learning:
    their facts are the lessons' own, which the tutor explains. Reads only."""
    attempts = session.exec(select(QuizAttempt).where(QuizAttempt.user_id == user_id,
                                                      col(QuizAttempt.graded_at).is_(None))).all()
    page_quiz = None
    if course_slug and quiz_slug:
        try:
            page_quiz = get_course(session, course_slug).quiz(quiz_slug).id
        except NotFound:
            pass
    known = catalogue(session)
    guarded = [a for a in attempts if a.quiz_id == page_quiz or _is_open_exam(known, a.quiz_id)]
    questions = [question for attempt in guarded for question in attempt_questions(session, attempt)]
    return OpenKeys(answer_keys(questions), any(attempt.quiz_id == page_quiz for attempt in attempts))


def _is_open_exam(known: outline.Catalogue, quiz_id: int) -> bool:
    try:
        return known.quiz_by_id(quiz_id).is_final_exam
    except NotFound:  # a quiz retired since the attempt was opened
        return False


# ---------------------------------------------------------------- the catalogue as cards

@dataclass
class CardCounts:
    modules: int
    lessons: int
    questions: int
    words: int


@dataclass
class CourseCard:
    """One course as the catalogue shows it (and the API's course shape), in one content language."""

    slug: str
    title: str
    summary: str
    audience: str
    counts: CardCounts
    progress_percent: int | None
    completed: bool


def course_card(course: CourseOutline, lang: str, progress: CourseProgress | None) -> CourseCard:
    counts = course.counts
    enrolled = progress is not None and progress.enrolled
    return CourseCard(course.slug, course.title.get(lang, ""), course.summary.get(lang, ""), course.audience,
                      CardCounts(counts.modules, counts.lessons, counts.questions, counts.words.get(lang, 0)),
                      progress.percent if enrolled else None, bool(enrolled and progress.completed_at))


def catalogue_cards(session: Session, user: User | None, lang: str) -> list[CourseCard]:
    """Courses for the catalogue in one content language, with the learner's progress if enrolled."""
    courses = catalogue(session).courses
    state = learner_state(session, user) if user else None
    return [course_card(course, lang, progress_of(course, state) if state else None) for course in courses]
