"""The course engine: loading sources, the catalogue, progress, quizzes graded on the server.

Functions work on the caller's session and only flush: the request (or CLI command, or task) that
calls them commits once, so a failure anywhere leaves nothing half-written.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case
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
from gennation.platform.database import utcnow
from gennation.platform.errors import InvalidField, NotFound
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
                       "retired": False})
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
        "title": source.title, "summary": source.summary, "content_version": source.version,
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
    return report


# ---------------------------------------------------------------- reading courses

def catalogue(session: Session) -> Catalogue:
    """Every live course as a read model (one query when nothing changed since it was built)."""
    return outline.catalogue(session)


def get_course(session: Session, slug: str) -> CourseOutline:
    """A live course, or NotFound."""
    return catalogue(session).course(slug)


# ---------------------------------------------------------------- a learner's state and progress

@dataclass
class LearnerState:
    """What one learner has done in every course, read in three queries whatever the number of courses."""

    user_id: int | None
    read: set[int] = field(default_factory=set)
    scores: dict[int, tuple[float, bool]] = field(default_factory=dict)  # quiz id: (best score, ever passed)
    enrollments: dict[int, Enrollment] = field(default_factory=dict)  # course id: enrolment


def learner_state(session: Session, user: User | None) -> LearnerState:
    if user is None:
        return LearnerState(None)
    read = set(session.exec(select(LessonProgress.lesson_id).where(LessonProgress.user_id == user.id)))
    scores = {quiz_id: (best, bool(passed)) for quiz_id, best, passed in session.exec(
        select(QuizAttempt.quiz_id, func.max(QuizAttempt.score), func.max(case((col(QuizAttempt.passed), 1), else_=0)))
        .where(QuizAttempt.user_id == user.id, col(QuizAttempt.graded_at).is_not(None))
        .group_by(QuizAttempt.quiz_id))}
    enrollments = {e.course_id: e for e in session.exec(select(Enrollment).where(Enrollment.user_id == user.id))}
    return LearnerState(user.id, read, scores, enrollments)


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
        """The one definition of a completed course: every lesson read, every quiz and the final test passed."""
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
    """Enrol a learner (idempotent)."""
    state = state or learner_state(session, user)
    enrollment = state.enrollments.get(course.id)
    if enrollment is None:
        enrollment = Enrollment(user_id=user.id, course_id=course.id)
        session.add(enrollment)
        session.flush()
        state.enrollments[course.id] = enrollment
    return enrollment


def note_lesson_opened(session: Session, user: User, course: CourseOutline, lesson: LessonOutline,
                       state: LearnerState) -> None:
    """Remember the lesson a learner opened last, so that "continue" takes them back to it.

    Called from a GET on purpose: opening a lesson is the only signal of where a learner is. It writes
    only for an enrolled learner and only when the lesson changed, so reloading a page writes nothing."""
    enrollment = state.enrollments.get(course.id)
    if enrollment and enrollment.last_lesson_id != lesson.id:
        enrollment.last_lesson_id = lesson.id
        session.add(enrollment)


def mark_lesson_read(session: Session, user: User, course: CourseOutline, lesson: LessonOutline) -> CourseProgress:
    """Record a lesson as read (enrolling if needed) and return the updated progress."""
    state = learner_state(session, user)
    enrollment = enroll(session, user, course, state)
    if lesson.id not in state.read:
        session.add(LessonProgress(user_id=user.id, lesson_id=lesson.id))
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
                                      content_version=course.content_version)
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
    """A question as shown to a learner: texts only, options of ordering questions shuffled."""

    id: str
    kind: str
    prompt: str
    options: list[dict] = field(default_factory=list)
    unit: str = ""


def find_open_attempt(session: Session, user_id: int, quiz: QuizOutline) -> QuizAttempt | None:
    """The learner's ungraded attempt at a quiz, if any. Reads only: nothing is drawn or stored."""
    return session.exec(select(QuizAttempt).where(
        QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz.id,
        col(QuizAttempt.graded_at).is_(None)).order_by(col(QuizAttempt.id).desc())).first()


def open_attempt(session: Session, user: User, quiz: QuizOutline) -> QuizAttempt:
    """The learner's ungraded attempt at a quiz, or a new one with its questions drawn now."""
    attempt = find_open_attempt(session, user.id, quiz)
    live = [q.id for q in quiz.questions]
    if attempt and set(attempt.question_ids) <= set(live):
        return attempt
    chosen = live
    if quiz.draw and quiz.draw < len(chosen):
        chosen = sorted(random.SystemRandom().sample(chosen, quiz.draw), key=live.index)
    attempt = QuizAttempt(user_id=user.id, quiz_id=quiz.id, question_ids=chosen)
    session.add(attempt)
    session.flush()
    return attempt


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
            items[q.id] = QuestionItem(q.id, q.slug, q.kind, q.key, q.text)
    return [items[i] for i in attempt.question_ids if items.get(i) is not None]


def question_view(question: QuestionItem, lang: str, attempt_id: int) -> QuestionView:
    """What the browser may see before grading: never the key."""
    text = question.text.get(lang) or next(iter(question.text.values()))
    if question.kind == QuestionKind.ordering:
        items = list(text["items"])
        shuffler = random.Random(f"{attempt_id}:{question.id}")
        while len(items) > 1 and [i["id"] for i in items] == question.key["order"]:
            shuffler.shuffle(items)
        options = [{"id": i["id"], "text": i["text"]} for i in items]
    else:
        options = [{"id": o["id"], "text": o["text"]} for o in text.get("options", [])]
    return QuestionView(question.slug, question.kind.value, text["prompt"], options, text.get("unit", ""))


def _parse_answer(question: QuestionItem, value: Any) -> Any:
    """Normalise one answer, or raise AnswerError naming the question."""
    kind, slug = question.kind, question.slug
    option_ids = {o["id"] for o in next(iter(question.text.values())).get("options", [])}
    if value is None or value == "" or value == []:
        raise AnswerError(slug, N_("Please answer this question."))
    if kind in (QuestionKind.single, QuestionKind.true_false):
        value = str(value).lower() if isinstance(value, bool) else value
        if not isinstance(value, str) or value not in option_ids:
            raise AnswerError(slug, N_("Choose one of the options."))
        return value
    if kind == QuestionKind.multiple:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) and v in option_ids for v in values):
            raise AnswerError(slug, N_("Choose one or more of the options."))
        return sorted(set(values))
    if kind == QuestionKind.numeric:
        try:
            number = float(str(value).replace(",", ".").replace(" ", "").replace("\u00a0", ""))
        except ValueError:
            raise AnswerError(slug, N_("Enter a number, for example 12 or 3.5.")) from None
        if not math.isfinite(number):
            raise AnswerError(slug, N_("Enter a number, for example 12 or 3.5."))
        return number
    order = question.key["order"]
    if not isinstance(value, list) or sorted(map(str, value)) != sorted(order):
        raise AnswerError(slug, N_("Put every item in a different place."))
    return [str(v) for v in value]


def _is_correct(question: QuestionItem, answer: Any) -> bool:
    key = question.key
    if question.kind in (QuestionKind.single, QuestionKind.true_false):
        return [answer] == key["correct"]
    if question.kind == QuestionKind.multiple:
        return answer == key["correct"]
    if question.kind == QuestionKind.numeric:
        return abs(answer - float(key["answer"])) <= float(key["tolerance"]) + 1e-9
    return answer == key["order"]


def _parse_answers(questions: list[QuestionItem], answers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalised answers, and {question id: message id} for each malformed one, in question order."""
    parsed, errors = {}, {}
    for question in questions:
        try:
            parsed[question.slug] = _parse_answer(question, answers.get(question.slug))
        except AnswerError as error:
            errors[error.field] = error.message
    return parsed, errors


def check_answers(questions: list[QuestionItem], answers: dict[str, Any]) -> dict[str, str]:
    """Every malformed answer of a submission, {question id: message id}; empty when all are fine."""
    return _parse_answers(questions, answers)[1]


def grade_attempt(session: Session, user: User, attempt: QuizAttempt, answers: dict[str, Any],
                  questions: list[QuestionItem] | None = None) -> QuizAttempt:
    """Grade an attempt on the server, then record course completion if this was the last step.
    Raises AnswerError (first bad answer) and changes nothing then."""
    if attempt.graded_at is not None:
        raise AnswerError("attempt", N_("This attempt has already been graded. Start a new one."))
    questions = questions if questions is not None else attempt_questions(session, attempt)
    parsed, errors = _parse_answers(questions, answers)
    if errors:
        field_name, message = next(iter(errors.items()))
        raise AnswerError(field_name, message)
    course = catalogue(session).course_of_quiz(attempt.quiz_id)
    quiz = course.quiz_with_id(attempt.quiz_id)
    results = {q.slug: _is_correct(q, parsed[q.slug]) for q in questions}
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
    """One graded question with its explanations, shown after the attempt."""

    id: str
    kind: str
    prompt: str
    correct: bool
    given: Any
    options: list[dict]
    explanation: str
    key: dict


def attempt_feedback(questions: list[QuestionItem], attempt: QuizAttempt, lang: str) -> list[Feedback]:
    feedback = []
    for question in questions:
        text = question.text.get(lang) or next(iter(question.text.values()))
        options = text.get("options") or text.get("items") or []
        feedback.append(Feedback(question.slug, question.kind.value, text["prompt"],
                                 bool(attempt.results.get(question.slug)), attempt.answers.get(question.slug),
                                 options, text.get("explanation", ""), question.key))
    return feedback


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


def open_attempt_keys(session: Session, user_id: int, course_slug: str | None, quiz_slug: str | None) -> list[AnswerKey]:
    """The keys of the learner's ungraded attempt at a quiz, if there is one. Reads only."""
    if not course_slug or not quiz_slug:
        return []
    try:
        quiz = get_course(session, course_slug).quiz(quiz_slug)
    except NotFound:
        return []
    attempt = find_open_attempt(session, user_id, quiz)
    return answer_keys(attempt_questions(session, attempt)) if attempt else []


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
