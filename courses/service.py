"""The course engine: loading sources, catalogue, progress, quizzes graded on the server."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import defer
from sqlmodel import Session, SQLModel, col, func, select

from gennation.courses.models import (
    Course, CourseCompletion, Enrollment, Lesson, LessonProgress, Module, Question, QuestionKind,
    Quiz, QuizAttempt,
)
from gennation.courses.rendering import render_lesson
from gennation.courses.source import WORD_RE, CourseSource, QuizSource, plain_text
from gennation.platform.accounts.models import User
from gennation.platform.database import utcnow
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
    session.commit()
    return "updated" if existing else "created"


def load_courses(session: Session, sources: list[CourseSource]) -> dict[str, str]:
    """Import every course; courses no longer in the sources are retired (hidden, progress kept)."""
    report = {source.id: load_course(session, source) for source in sources}
    for course in session.exec(select(Course).where(col(Course.slug).not_in(list(report)))).all():
        if not course.retired:
            course.retired = True
            session.add(course)
            report[course.slug] = "retired"
    session.commit()
    return report


# ---------------------------------------------------------------- reading courses

def list_courses(session: Session) -> list[Course]:
    return list(session.exec(select(Course).where(Course.retired == False).order_by(Course.position)))  # noqa: E712


def get_course(session: Session, slug: str) -> Course | None:
    return session.exec(select(Course).where(Course.slug == slug, Course.retired == False)).first()  # noqa: E712


def modules_of(session: Session, course: Course) -> list[Module]:
    return list(session.exec(select(Module).where(Module.course_id == course.id, Module.retired == False)  # noqa: E712
                             .order_by(Module.position)))


def _live_lessons(course: Course):
    return select(Lesson).join(Module).where(Module.course_id == course.id, Module.retired == False,  # noqa: E712
                                             Lesson.retired == False)  # noqa: E712


def lessons_of(session: Session, course: Course) -> list[Lesson]:
    """All live lessons of a course, in reading order (texts are not loaded: outlines need titles only)."""
    return list(session.exec(_live_lessons(course).options(defer(Lesson.body_html), defer(Lesson.body_text),
                                                                   defer(Lesson.key_ideas))
                             .order_by(Module.position, Lesson.position)))


def quizzes_of(session: Session, course: Course) -> list[Quiz]:
    return list(session.exec(select(Quiz).where(Quiz.course_id == course.id, Quiz.retired == False)))  # noqa: E712


def get_lesson(session: Session, course: Course, lesson_slug: str) -> Lesson | None:
    return session.exec(_live_lessons(course).where(Lesson.slug == lesson_slug)).first()


def get_quiz(session: Session, course: Course, quiz_slug: str) -> Quiz | None:
    return next((quiz for quiz in quizzes_of(session, course) if quiz.slug == quiz_slug), None)


def live_questions(session: Session, quiz: Quiz) -> list[Question]:
    return list(session.exec(select(Question).where(Question.quiz_id == quiz.id, Question.retired == False)  # noqa: E712
                             .order_by(Question.position)))


@dataclass
class CourseCounts:
    modules: int
    lessons: int
    questions: int
    words: dict[str, int]


def course_counts(session: Session, course: Course) -> CourseCounts:
    lessons = lessons_of(session, course)
    quiz_ids = [q.id for q in quizzes_of(session, course)]
    questions = session.exec(select(func.count()).select_from(Question).where(
        col(Question.quiz_id).in_(quiz_ids), Question.retired == False)).one() if quiz_ids else 0  # noqa: E712
    texts = session.exec(_live_lessons(course).with_only_columns(Lesson.body_text)).all()
    words = {lang: sum(len(WORD_RE.findall(text.get(lang, ""))) for text in texts) for lang in ("kk", "ru")}
    return CourseCounts(len(modules_of(session, course)), len(lessons), questions, words)


# ---------------------------------------------------------------- progress

@dataclass
class ModuleProgress:
    module: Module
    lessons: list[tuple[Lesson, bool]]
    quiz: Quiz | None
    quiz_passed: bool
    best_score: float | None

    @property
    def completed(self) -> bool:
        return all(read for _, read in self.lessons) and (self.quiz is None or self.quiz_passed)


@dataclass
class CourseProgress:
    course: Course
    enrolled: bool
    modules: list[ModuleProgress]
    final_exam: Quiz | None
    final_passed: bool
    completed_at: Any = None
    resume: Lesson | None = None
    steps_done: int = 0
    steps_total: int = 0

    @property
    def percent(self) -> int:
        return math.floor(100 * self.steps_done / self.steps_total) if self.steps_total else 0

    @property
    def completed(self) -> bool:
        return all(m.completed for m in self.modules) and (self.final_exam is None or self.final_passed)


def _read_lesson_ids(session: Session, user: User | None) -> set[int]:
    if user is None:
        return set()
    return set(session.exec(select(LessonProgress.lesson_id).where(LessonProgress.user_id == user.id)))


def _best_scores(session: Session, user: User | None) -> dict[int, tuple[float, bool]]:
    if user is None:
        return {}
    rows = session.exec(select(QuizAttempt.quiz_id, func.max(QuizAttempt.score))
                        .where(QuizAttempt.user_id == user.id, col(QuizAttempt.graded_at).is_not(None))
                        .group_by(QuizAttempt.quiz_id)).all()
    passed = set(session.exec(select(QuizAttempt.quiz_id).where(
        QuizAttempt.user_id == user.id, QuizAttempt.passed == True)))  # noqa: E712
    return {quiz_id: (best, quiz_id in passed) for quiz_id, best in rows}


def enrollment_of(session: Session, user: User | None, course: Course) -> Enrollment | None:
    if user is None:
        return None
    return session.exec(select(Enrollment).where(Enrollment.user_id == user.id,
                                                 Enrollment.course_id == course.id)).first()


def course_progress(session: Session, course: Course, user: User | None) -> CourseProgress:
    """Where a learner stands in a course: lessons read, quizzes passed, where to resume."""
    read = _read_lesson_ids(session, user)
    scores = _best_scores(session, user)
    quizzes = quizzes_of(session, course)
    by_module = {q.module_id: q for q in quizzes if q.module_id is not None}
    lessons = lessons_of(session, course)
    modules = []
    for module in modules_of(session, course):
        quiz = by_module.get(module.id)
        best, passed = scores.get(quiz.id, (None, False)) if quiz else (None, False)
        modules.append(ModuleProgress(module, [(l, l.id in read) for l in lessons if l.module_id == module.id],
                                      quiz, passed, best))
    final = next((q for q in quizzes if q.module_id is None), None)
    enrollment = enrollment_of(session, user, course)
    progress = CourseProgress(course, enrollment is not None, modules, final,
                              scores.get(final.id, (None, False))[1] if final else False,
                              completed_at=enrollment.completed_at if enrollment else None)
    progress.steps_total = len(lessons) + len(quizzes)
    progress.steps_done = sum(l.id in read for l in lessons) + sum(scores.get(q.id, (0, False))[1] for q in quizzes)
    last = enrollment.last_lesson_id if enrollment else None
    unread = next((l for l in lessons if l.id not in read), None)
    progress.resume = next((l for l in lessons if l.id == last), None) if last and last not in read else unread
    if progress.resume is None and lessons and not read:
        progress.resume = lessons[0]
    return progress


@dataclass
class LessonPlace:
    """Where a lesson sits in its course: for the pager and the "what next" button."""

    previous: Lesson | None
    next: Lesson | None
    quiz_after: Quiz | None  # the module quiz, when this is the module's last lesson
    read: bool


def lesson_place(progress: CourseProgress, lesson: Lesson) -> LessonPlace:
    ordered = [(l, read, m) for m in progress.modules for l, read in m.lessons]
    index = next(i for i, (l, _, _) in enumerate(ordered) if l.id == lesson.id)
    _, read, module = ordered[index]
    last_of_module = module.lessons[-1][0].id == lesson.id
    return LessonPlace(ordered[index - 1][0] if index > 0 else None,
                       ordered[index + 1][0] if index + 1 < len(ordered) else None,
                       module.quiz if last_of_module else None, read)


def enroll(session: Session, user: User, course: Course) -> Enrollment:
    """Enrol a learner (idempotent)."""
    enrollment = enrollment_of(session, user, course)
    if enrollment is None:
        enrollment = Enrollment(user_id=user.id, course_id=course.id)
        session.add(enrollment)
        session.commit()
        session.refresh(enrollment)
    return enrollment


def note_lesson_opened(session: Session, user: User, course: Course, lesson: Lesson) -> None:
    """Remember the lesson a learner opened last, so they can resume there."""
    enrollment = enrollment_of(session, user, course)
    if enrollment and enrollment.last_lesson_id != lesson.id:
        enrollment.last_lesson_id = lesson.id
        session.add(enrollment)
        session.commit()


def mark_lesson_read(session: Session, user: User, course: Course, lesson: Lesson) -> CourseProgress:
    """Record a lesson as read (enrolling if needed) and return the updated progress."""
    enrollment = enroll(session, user, course)
    exists = session.exec(select(LessonProgress).where(LessonProgress.user_id == user.id,
                                                       LessonProgress.lesson_id == lesson.id)).first()
    if exists is None:
        session.add(LessonProgress(user_id=user.id, lesson_id=lesson.id))
    enrollment.last_lesson_id = lesson.id
    session.add(enrollment)
    session.commit()
    return _record_completion_if_done(session, user, course)


def _record_completion_if_done(session: Session, user: User, course: Course) -> CourseProgress:
    progress = course_progress(session, course, user)
    if progress.completed and progress.completed_at is None:
        enrollment = enroll(session, user, course)
        enrollment.completed_at = utcnow()
        final_score = None
        if progress.final_exam:
            final_score = _best_scores(session, user).get(progress.final_exam.id, (None, False))[0]
        session.add(enrollment)
        session.add(CourseCompletion(user_id=user.id, course_id=course.id, score=final_score,
                                     content_version=course.content_version))
        session.commit()
        progress.completed_at = enrollment.completed_at
    return progress


def completions_of(session: Session, user: User) -> list[CourseCompletion]:
    return list(session.exec(select(CourseCompletion).where(CourseCompletion.user_id == user.id)))


# ---------------------------------------------------------------- quizzes

class AnswerError(Exception):
    """A malformed answer: `field` names the question, `message` is a message id."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message)
        self.field = field
        self.message = message


@dataclass
class QuestionView:
    """A question as shown to a learner: texts only, options of ordering questions shuffled."""

    id: str
    kind: str
    prompt: str
    options: list[dict] = field(default_factory=list)
    unit: str = ""


def open_attempt(session: Session, user: User, quiz: Quiz) -> QuizAttempt:
    """The learner's ungraded attempt at a quiz, or a new one with its questions drawn now."""
    attempt = session.exec(select(QuizAttempt).where(
        QuizAttempt.user_id == user.id, QuizAttempt.quiz_id == quiz.id,
        col(QuizAttempt.graded_at).is_(None)).order_by(col(QuizAttempt.id).desc())).first()
    live = live_questions(session, quiz)
    if attempt and set(attempt.question_ids) <= {q.id for q in live}:
        return attempt
    chosen = [q.id for q in live]
    if quiz.draw and quiz.draw < len(chosen):
        chosen = sorted(random.SystemRandom().sample(chosen, quiz.draw),
                        key=[q.id for q in live].index)
    attempt = QuizAttempt(user_id=user.id, quiz_id=quiz.id, question_ids=chosen)
    session.add(attempt)
    session.commit()
    session.refresh(attempt)
    return attempt


def attempt_questions(session: Session, attempt: QuizAttempt) -> list[Question]:
    rows = {q.id: q for q in session.exec(select(Question).where(col(Question.id).in_(attempt.question_ids)))}
    return [rows[i] for i in attempt.question_ids if i in rows]


def question_view(question: Question, lang: str, attempt_id: int) -> QuestionView:
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


def _parse_answer(question: Question, value: Any) -> Any:
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


def _is_correct(question: Question, answer: Any) -> bool:
    key = question.key
    if question.kind in (QuestionKind.single, QuestionKind.true_false):
        return [answer] == key["correct"]
    if question.kind == QuestionKind.multiple:
        return answer == key["correct"]
    if question.kind == QuestionKind.numeric:
        return abs(answer - float(key["answer"])) <= float(key["tolerance"]) + 1e-9
    return answer == key["order"]


def grade_attempt(session: Session, user: User, attempt: QuizAttempt, answers: dict[str, Any]) -> QuizAttempt:
    """Grade an attempt on the server. Raises AnswerError (first bad answer) and stores nothing then."""
    if attempt.graded_at is not None:
        raise AnswerError("attempt", N_("This attempt has already been graded. Start a new one."))
    questions = attempt_questions(session, attempt)
    parsed, errors = _parse_answers(questions, answers)
    if errors:
        field, message = next(iter(errors.items()))
        raise AnswerError(field, message)
    results = {q.slug: _is_correct(q, parsed[q.slug]) for q in questions}
    quiz = session.get(Quiz, attempt.quiz_id)
    attempt.answers = parsed
    attempt.results = results
    attempt.score = round(100 * sum(results.values()) / len(results), 1) if results else 0.0
    attempt.passed = attempt.score >= quiz.pass_mark
    attempt.graded_at = utcnow()
    session.add(attempt)
    session.commit()
    course = session.get(Course, quiz.course_id)
    enroll(session, user, course)
    _record_completion_if_done(session, user, course)
    session.refresh(attempt)
    return attempt


def check_answers(session: Session, attempt: QuizAttempt, answers: dict[str, Any]) -> dict[str, str]:
    """Every malformed answer of a submission, {question id: message id}; empty when all are fine."""
    return _parse_answers(attempt_questions(session, attempt), answers)[1]


def _parse_answers(questions: list[Question], answers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalised answers, and {question id: message id} for each malformed one, in question order."""
    parsed, errors = {}, {}
    for question in questions:
        try:
            parsed[question.slug] = _parse_answer(question, answers.get(question.slug))
        except AnswerError as error:
            errors[error.field] = error.message
    return parsed, errors


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


def attempt_feedback(session: Session, attempt: QuizAttempt, lang: str) -> list[Feedback]:
    feedback = []
    for question in attempt_questions(session, attempt):
        text = question.text.get(lang) or next(iter(question.text.values()))
        given = attempt.answers.get(question.slug)
        options = text.get("options") or text.get("items") or []
        feedback.append(Feedback(question.slug, question.kind.value, text["prompt"],
                                 bool(attempt.results.get(question.slug)), given, options,
                                 text.get("explanation", ""), question.key))
    return feedback


def attempts_of(session: Session, user: User, quiz: Quiz) -> list[QuizAttempt]:
    return list(session.exec(select(QuizAttempt).where(
        QuizAttempt.user_id == user.id, QuizAttempt.quiz_id == quiz.id,
        col(QuizAttempt.graded_at).is_not(None)).order_by(col(QuizAttempt.id).desc())))


def personal_data(session: Session, user: User) -> dict:
    """Everything the course engine keeps about a person, for their data export."""
    def dump(rows):
        return [row.model_dump(mode="json") for row in rows]
    return {
        "enrollments": dump(session.exec(select(Enrollment).where(Enrollment.user_id == user.id))),
        "lessons_read": dump(session.exec(select(LessonProgress).where(LessonProgress.user_id == user.id))),
        "quiz_attempts": dump(session.exec(select(QuizAttempt).where(QuizAttempt.user_id == user.id))),
        "course_completions": dump(session.exec(select(CourseCompletion).where(CourseCompletion.user_id == user.id))),
    }


@dataclass
class CourseCard:
    slug: str
    title: str
    summary: str
    audience: str
    counts: CourseCounts
    percent: int | None
    completed: bool


def course_card(session: Session, course: Course, user: User | None, lang: str,
                progress: CourseProgress | None = None) -> CourseCard:
    """One course as the catalogue shows it, with the learner's progress if enrolled."""
    if user and progress is None:
        progress = course_progress(session, course, user)
    return CourseCard(
        course.slug, course.title.get(lang, ""), course.summary.get(lang, ""), course.audience,
        course_counts(session, course),
        progress.percent if progress and progress.enrolled else None,
        bool(progress and progress.completed_at),
    )


def catalogue(session: Session, user: User | None, lang: str) -> list[CourseCard]:
    """Courses for the catalogue in one content language, with the learner's progress if enrolled."""
    return [course_card(session, course, user, lang) for course in list_courses(session)]
