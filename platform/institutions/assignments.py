"""Assignments and gradebooks.

A teacher assigns a course, a module or a quiz to a class, perhaps with a due date (stored in UTC,
shown in Almaty time). Each learner's state in each assignment is worked out from their progress in the
courses (lessons read, quiz attempts) made since they joined the class: the teacher sees nothing from
before. A whole class's gradebook is read in a fixed number of queries, whatever the number of learners.
Functions only flush; `now` may be given to look at the gradebook at another moment (tests do).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from gennation.courses import service as courses
from gennation.courses.models import LessonProgress, QuizAttempt
from gennation.courses.outline import Catalogue, CourseOutline, QuizOutline
from gennation.platform.accounts.models import User
from gennation.platform.audit import service as audit
from gennation.platform.database import utcnow
from gennation.platform.errors import NotFound
from gennation.platform.i18n import N_, content_language, gettext
from gennation.platform.institutions.models import Assignment, ClassMember, Classroom
from gennation.platform.institutions.service import ClassError, taught_class

ALMATY = ZoneInfo("Asia/Almaty")
STUCK_FAILURES = 3  # failed attempts in a row at an assigned quiz
STUCK_IDLE = timedelta(days=7)  # no progress while something is not done
# A quiz attempt open longer than this counts as this long (lessons: courses.LESSON_READING_CAP).
QUIZ_TIME_CAP = timedelta(minutes=30)


class State(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    done = "done"
    done_late = "done_late"
    overdue = "overdue"


STATE_NAMES = {State.not_started: N_("not started"), State.in_progress: N_("in progress"), State.done: N_("finished"),
               State.done_late: N_("done late"), State.overdue: N_("overdue")}
STUCK_REASONS = {"failures": N_("%(count)s failed attempts in a row"),
                 "idle": N_("no progress for %(days)s days")}


def as_utc(moment: datetime | None) -> datetime | None:
    """Datetimes read back from SQLite come without a zone; every stored one is UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def local(moment: datetime | None) -> datetime | None:
    """A stored (UTC) moment in Almaty time, for showing."""
    return as_utc(moment).astimezone(ALMATY) if moment is not None else None


def local_text(moment: datetime | None) -> str:
    return local(moment).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def parse_due(value: str | datetime | None) -> datetime | None:
    """A due date from a form ("2026-12-10T18:00", Almaty time) or the API (a zone, else Almaty), in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ClassError("due", N_("Write the due date as a date and time, for example 2026-12-20 18:00."))
    if value.tzinfo is None:
        value = value.replace(tzinfo=ALMATY)
    return value.astimezone(UTC)


# ---------------------------------------------------------------- what an assignment covers

@dataclass(frozen=True)
class Target:
    """What an assignment asks for: lessons to read and quizzes to pass, and the quiz whose score counts."""

    course: CourseOutline
    title: dict[str, str]  # by interface language
    lessons: tuple[int, ...]
    quizzes: tuple[int, ...]
    scored: QuizOutline | None
    url: str  # without the language prefix


def _quiz_title(course: CourseOutline, quiz: QuizOutline, lang: str) -> str:
    clang = content_language(lang)
    module = course.module(quiz.module_id)
    if module is None:
        return f"{course.title.get(clang, '')}: {gettext(lang, 'Final test')}"
    return gettext(lang, "Quiz: %(module)s", module=module.title.get(clang, ""))


def target(catalogue: Catalogue, assignment: Assignment) -> Target | None:
    """What `assignment` covers in the current content (None if its course or part was retired)."""
    try:
        course = catalogue.course(assignment.course_slug)
        if assignment.quiz_slug:
            quiz = course.quiz(assignment.quiz_slug)
            return Target(course, {lang: _quiz_title(course, quiz, lang) for lang in ("kk", "ru", "en")}, (),
                          (quiz.id,), quiz, f"/courses/{course.slug}/quizzes/{quiz.slug}")
        if assignment.module_slug:
            module = next((m for m in course.modules if m.slug == assignment.module_slug), None)
            if module is None:
                return None
            title = {lang: f"{course.title.get(content_language(lang), '')}: "
                           f"{module.title.get(content_language(lang), '')}" for lang in ("kk", "ru", "en")}
            return Target(course, title, tuple(lesson.id for lesson in module.lessons),
                          (module.quiz.id,) if module.quiz else (), module.quiz, f"/courses/{course.slug}")
    except NotFound:
        return None
    return Target(course, {lang: course.title.get(content_language(lang), "") for lang in ("kk", "ru", "en")},
                  tuple(lesson.id for lesson in course.lessons), tuple(quiz.id for quiz in course.quizzes),
                  course.final_exam, f"/courses/{course.slug}")


# ---------------------------------------------------------------- assigning

def assign(session: Session, teacher: User, classroom_id: int, course: str, module: str | None = None,
           quiz: str | None = None, due: str | datetime | None = None, now: datetime | None = None) -> Assignment:
    """Assign a course, one of its modules or one of its quizzes to a class the teacher owns."""
    classroom = taught_class(session, teacher, classroom_id)
    if classroom.archived_at is not None:
        raise ClassError("course", N_("This class is archived: nothing more can be assigned to it."))
    module, quiz = (module or "").strip(), (quiz or "").strip()
    try:
        outline = courses.get_course(session, (course or "").strip())
    except NotFound:
        raise ClassError("course", N_("There is no such course.")) from None
    if module and quiz:
        raise ClassError("quiz", N_("Assign either a module or a quiz, not both."))
    if module and not any(m.slug == module for m in outline.modules):
        raise ClassError("module", N_("There is no such module in this course."))
    if quiz and not any(q.slug == quiz for q in outline.quizzes):
        raise ClassError("quiz", N_("There is no such quiz in this course."))
    due_at = parse_due(due)
    if due_at is not None and due_at <= (now or utcnow()):
        raise ClassError("due", N_("The due date has already passed. Choose a date and time in the future."))
    exists = session.exec(select(Assignment.id).where(
        Assignment.classroom_id == classroom.id, Assignment.course_slug == outline.slug,
        Assignment.module_slug == module, Assignment.quiz_slug == quiz)).first()
    if exists is not None:
        raise ClassError("course", N_("This is already assigned to the class."))
    assignment = Assignment(classroom_id=classroom.id, course_slug=outline.slug, module_slug=module,
                            quiz_slug=quiz, due_at=due_at, created_by=teacher.id, created_at=now or utcnow())
    session.add(assignment)
    session.flush()
    audit.record(session, teacher, "class.assignment_added", object_type="assignment", object_id=assignment.id,
                 detail={"class": classroom.id, "course": outline.slug, "module": module, "quiz": quiz, "due": due_at})
    return assignment


def assignments_of(session: Session, classroom_ids: list[int]) -> list[Assignment]:
    """Assignments of these classes, the soonest due first (those without a date last)."""
    if not classroom_ids:
        return []
    rows = session.exec(select(Assignment).where(col(Assignment.classroom_id).in_(classroom_ids))
                        .order_by(col(Assignment.due_at).is_(None), col(Assignment.due_at), col(Assignment.id)))
    return list(rows)


# ---------------------------------------------------------------- states

@dataclass
class Cell:
    assignment: Assignment
    state: State
    best_score: float | None = None
    attempts: int = 0  # graded attempts at the assignment's scored quiz
    done_at: datetime | None = None
    seconds: int = 0  # estimated time on the assignment's lessons and quizzes (see `time_spent`)


@dataclass
class Row:
    learner: User
    joined_at: datetime
    cells: list[Cell]
    last_activity: datetime | None = None
    stuck: list[tuple[str, dict]] = field(default_factory=list)  # (reason message id, values)
    seconds: int = 0  # estimated time on everything assigned to the class, each lesson and attempt once


@dataclass
class _Activity:
    """One learner's work on the assigned lessons and quizzes since joining a class."""

    read: dict[int, datetime] = field(default_factory=dict)  # lesson id: when read
    reading: dict[int, int] = field(default_factory=dict)  # lesson id: estimated seconds of reading
    attempts: dict[int, list] = field(default_factory=dict)  # quiz id: attempts (graded or not), in order


def _activities(session: Session, users, lessons: set[int], quizzes: set[int]) -> tuple[dict, dict]:
    """Lessons read and attempts of `users` (a user id or a subquery of ids): two queries."""
    def who(column):
        return column == users if isinstance(users, int) else col(column).in_(users)
    read: dict[int, list[tuple[int, datetime, int]]] = {}
    if lessons:
        for user_id, lesson_id, read_at, seconds in session.exec(
                select(LessonProgress.user_id, LessonProgress.lesson_id, LessonProgress.read_at,
                       LessonProgress.seconds)
                .where(who(LessonProgress.user_id), col(LessonProgress.lesson_id).in_(lessons))):
            read.setdefault(user_id, []).append((lesson_id, as_utc(read_at), seconds or 0))
    attempts: dict[int, list] = {}
    if quizzes:
        # Only the columns a gradebook needs: not the questions, layouts and answers of every attempt.
        for attempt in session.exec(select(QuizAttempt.user_id, QuizAttempt.quiz_id, QuizAttempt.score,
                                           QuizAttempt.passed, QuizAttempt.started_at, QuizAttempt.graded_at)
                                    .where(who(QuizAttempt.user_id), col(QuizAttempt.quiz_id).in_(quizzes))
                                    .order_by(col(QuizAttempt.id))):
            attempts.setdefault(attempt.user_id, []).append(attempt)
    return read, attempts


def _since(read, attempts, user_id: int, joined_at: datetime) -> _Activity:
    activity = _Activity()
    for lesson_id, read_at, seconds in read.get(user_id, ()):
        if read_at >= joined_at:
            activity.read[lesson_id] = read_at
            activity.reading[lesson_id] = seconds
    for attempt in attempts.get(user_id, ()):
        if as_utc(attempt.started_at) >= joined_at:
            activity.attempts.setdefault(attempt.quiz_id, []).append(attempt)
    return activity


def attempt_seconds(attempt) -> int:
    """The time from opening a quiz attempt to submitting it, capped; 0 for an attempt still open."""
    if attempt.graded_at is None or attempt.started_at is None:
        return 0
    spent = as_utc(attempt.graded_at) - as_utc(attempt.started_at)
    return int(max(timedelta(0), min(spent, QUIZ_TIME_CAP)).total_seconds())


def _seconds(activity: _Activity, lessons, quizzes) -> int:
    return (sum(activity.reading.get(lesson_id, 0) for lesson_id in lessons)
            + sum(attempt_seconds(a) for quiz_id in quizzes for a in activity.attempts.get(quiz_id, ())))


def _cell(assignment: Assignment, goal: Target | None, activity: _Activity, now: datetime) -> Cell:
    due = as_utc(assignment.due_at)
    if goal is None:
        return Cell(assignment, State.not_started)
    finished: list[datetime | None] = [activity.read.get(lesson_id) for lesson_id in goal.lessons]
    touched = any(moment is not None for moment in finished)
    for quiz_id in goal.quizzes:
        tries = activity.attempts.get(quiz_id, [])
        touched = touched or bool(tries)
        passed = [as_utc(a.graded_at) for a in tries if a.passed and a.graded_at is not None]
        finished.append(min(passed) if passed else None)
    cell = Cell(assignment, State.not_started, seconds=_seconds(activity, goal.lessons, goal.quizzes))
    if goal.scored is not None:
        graded = [a for a in activity.attempts.get(goal.scored.id, []) if a.graded_at is not None]
        cell.attempts = len(graded)
        cell.best_score = max((a.score for a in graded if a.score is not None), default=None)
    if finished and all(moment is not None for moment in finished):
        cell.done_at = max(finished)
        cell.state = State.done_late if due is not None and cell.done_at > due else State.done
    elif due is not None and now > due:
        cell.state = State.overdue
    elif touched:
        cell.state = State.in_progress
    return cell


def _failures_in_a_row(tries: list) -> int:
    graded = [a for a in tries if a.graded_at is not None]
    if any(a.passed for a in graded):
        return 0
    return len(graded)


def _row(learner: User, joined_at: datetime, assignments: list[Assignment], goals: dict[int, Target | None],
         activity: _Activity, now: datetime) -> Row:
    cells = [_cell(a, goals[a.id], activity, now) for a in assignments]
    moments = [*activity.read.values()] + [as_utc(m) for tries in activity.attempts.values() for a in tries
                                           for m in (a.started_at, a.graded_at) if m is not None]
    # The activity holds only assigned lessons and quizzes: each counts once, even when two assignments share it.
    row = Row(learner, joined_at, cells, max(moments, default=None),
              seconds=_seconds(activity, activity.reading, activity.attempts))
    assigned_quizzes = {quiz_id for goal in goals.values() if goal for quiz_id in goal.quizzes}
    failures = max((_failures_in_a_row(activity.attempts.get(q, [])) for q in assigned_quizzes), default=0)
    if failures >= STUCK_FAILURES:
        row.stuck.append((STUCK_REASONS["failures"], {"count": failures}))
    undone = [cell for cell in cells if cell.state not in (State.done, State.done_late)]
    if undone:
        since = max([row.last_activity or joined_at, joined_at,
                     *[as_utc(cell.assignment.created_at) for cell in undone]])
        if now - since >= STUCK_IDLE:
            row.stuck.append((STUCK_REASONS["idle"], {"days": (now - since).days}))
    return row


@dataclass
class Gradebook:
    classroom: Classroom
    assignments: list[Assignment]
    targets: dict[int, Target | None]
    rows: list[Row]  # stuck learners first, then by name
    learners: int = 0  # in the class, before any filter


def gradebook(session: Session, classroom: Classroom, now: datetime | None = None) -> Gradebook:
    """Every learner of the class against every assignment, in five queries whatever the class size.
    The caller has checked that the teacher may see the learners' data (`class_with_learner_data`)."""
    now = as_utc(now) or utcnow()
    catalogue = courses.catalogue(session)
    assignments = assignments_of(session, [classroom.id])
    goals = {a.id: target(catalogue, a) for a in assignments}
    members = session.exec(select(User, ClassMember.joined_at).join(ClassMember, ClassMember.user_id == User.id)
                           .where(ClassMember.classroom_id == classroom.id)).all()
    lessons = {lesson_id for goal in goals.values() if goal for lesson_id in goal.lessons}
    quizzes = {quiz_id for goal in goals.values() if goal for quiz_id in goal.quizzes}
    ids = select(ClassMember.user_id).where(ClassMember.classroom_id == classroom.id)
    read, attempts = _activities(session, ids, lessons, quizzes) if members and assignments else ({}, {})
    rows = [_row(user, as_utc(joined_at), assignments, goals, _since(read, attempts, user.id, as_utc(joined_at)), now)
            for user, joined_at in members]
    rows.sort(key=lambda row: (not row.stuck, row.learner.display_name.casefold(), row.learner.id))
    return Gradebook(classroom, assignments, goals, rows, len(rows))


# ---------------------------------------------------------------- filters

# What the state filter offers: "stuck" is a row's mark, the others are cells' states.
FILTER_STATES = {"stuck": N_("needs help"), State.overdue.value: N_("overdue"),
                 State.not_started.value: N_("not started"), State.in_progress.value: N_("in progress"),
                 State.done.value: N_("finished"), State.done_late.value: N_("done late")}
NAME_FILTER_LENGTH = 100


@dataclass(frozen=True)
class Filters:
    state: str = ""  # a key of FILTER_STATES, or "" for all
    assignment_id: int | None = None  # show this assignment's column only
    name: str = ""  # part of a learner's name or username

    @property
    def active(self) -> bool:
        return bool(self.state or self.assignment_id or self.name)

    def query(self) -> dict[str, str]:
        """The filters as GET parameters (for the CSV link and the page's address)."""
        return {key: str(value) for key, value in
                (("state", self.state), ("assignment", self.assignment_id or ""), ("q", self.name)) if value}


def parse_filters(book: Gradebook, state: str = "", assignment: str = "", name: str = "") -> tuple[Filters, dict]:
    """Filters from GET parameters; values that mean nothing in this class are left out, each with
    a message id saying so (a page shows them, the API refuses them)."""
    problems = {}
    state = (state or "").strip()
    if state and state not in FILTER_STATES:
        problems["state"] = N_("There is no such state to filter by: showing every state.")
        state = ""
    assignment_id = None
    if (assignment or "").strip():
        ids = {a.id for a in book.assignments}
        value = assignment.strip()
        assignment_id = int(value) if value.isdecimal() and len(value) < 12 and int(value) in ids else None
        if assignment_id is None:
            problems["assignment"] = N_("This class has no such assignment: showing every assignment.")
    return Filters(state, assignment_id, (name or "").strip()[:NAME_FILTER_LENGTH]), problems


def _matches(row: Row, filters: Filters) -> bool:
    if filters.name:
        wanted = filters.name.casefold()
        if wanted not in row.learner.display_name.casefold() and wanted not in row.learner.username.casefold():
            return False
    if filters.state == "stuck":
        return bool(row.stuck)
    if filters.state == State.done.value:  # "finished" includes work finished late
        return any(cell.state in (State.done, State.done_late) for cell in row.cells)
    if filters.state:
        return any(cell.state == filters.state for cell in row.cells)
    return True


def filtered(book: Gradebook, filters: Filters) -> Gradebook:
    """The rows (and, for one assignment, the column) the filters keep; no query, the same numbers."""
    if not filters.active:
        return book
    assignments, rows = book.assignments, book.rows
    if filters.assignment_id is not None:
        assignments = [a for a in assignments if a.id == filters.assignment_id]
        rows = [replace(row, cells=[c for c in row.cells if c.assignment.id == filters.assignment_id])
                for row in rows]
    rows = [row for row in rows if _matches(row, filters)]
    return replace(book, assignments=assignments, rows=rows)


# ---------------------------------------------------------------- time spent

def minutes(seconds: int) -> int:
    """Whole minutes, as the page and the CSV show them (any time at all is at least one minute)."""
    return max(1, round(seconds / 60)) if seconds > 0 else 0


def time_text(seconds: int, lang: str) -> str:
    """ "1 h 5 min" in the page's language; "" for no time."""
    total = minutes(seconds)
    if not total:
        return ""
    hours, rest = divmod(total, 60)
    if not hours:
        return gettext(lang, "%(minutes)s min", minutes=rest)
    if not rest:
        return gettext(lang, "%(hours)s h", hours=hours)
    return gettext(lang, "%(hours)s h %(minutes)s min", hours=hours, minutes=rest)


@dataclass
class MyAssignment:
    classroom: Classroom
    target: Target
    cell: Cell


def my_assignments(session: Session, learner: User, now: datetime | None = None) -> list[MyAssignment]:
    """A learner's assignments in the classes they are in (archived classes left out), the soonest due first."""
    now = as_utc(now) or utcnow()
    memberships = session.exec(select(Classroom, ClassMember.joined_at).join(ClassMember)
                               .where(ClassMember.user_id == learner.id,
                                      col(Classroom.archived_at).is_(None))).all()
    if not memberships:
        return []
    classes = {classroom.id: (classroom, as_utc(joined_at)) for classroom, joined_at in memberships}
    assignments = assignments_of(session, list(classes))
    if not assignments:
        return []
    catalogue = courses.catalogue(session)
    goals = {a.id: target(catalogue, a) for a in assignments}
    lessons = {lesson_id for goal in goals.values() if goal for lesson_id in goal.lessons}
    quizzes = {quiz_id for goal in goals.values() if goal for quiz_id in goal.quizzes}
    read, attempts = _activities(session, learner.id, lessons, quizzes)
    mine = []
    for assignment in assignments:
        goal = goals[assignment.id]
        if goal is None:
            continue
        classroom, joined_at = classes[assignment.classroom_id]
        activity = _since(read, attempts, learner.id, joined_at)
        mine.append(MyAssignment(classroom, goal, _cell(assignment, goal, activity, now)))
    order = {State.overdue: 0, State.in_progress: 1, State.not_started: 2, State.done_late: 3, State.done: 3}
    mine.sort(key=lambda m: order[m.cell.state])
    return mine


# ---------------------------------------------------------------- the CSV export

def gradebook_csv(book: Gradebook, lang: str) -> str:
    """The gradebook as CSV in the teacher's language, with the numbers the page shows, BOM first (Excel)."""
    import csv
    import io
    out = io.StringIO()
    writer = csv.writer(out)
    header = [gettext(lang, "Learner"), gettext(lang, "Username"), gettext(lang, "Needs help"),
              gettext(lang, "Last activity"), gettext(lang, "Time spent, minutes (estimate)")]
    for assignment in book.assignments:
        goal = book.targets[assignment.id]
        title = goal.title[lang] if goal else assignment.course_slug
        header += [f"{title}: {gettext(lang, 'state')}", f"{title}: {gettext(lang, 'best score')}",
                   f"{title}: {gettext(lang, 'attempts')}", f"{title}: {gettext(lang, 'minutes')}"]
    writer.writerow(header)
    for row in book.rows:
        line = [row.learner.display_name, row.learner.username,
                "; ".join(gettext(lang, reason, **values) for reason, values in row.stuck),
                local_text(row.last_activity), str(minutes(row.seconds))]
        for cell in row.cells:
            line += [gettext(lang, STATE_NAMES[cell.state]), score_text(cell.best_score), str(cell.attempts),
                     str(minutes(cell.seconds))]
        writer.writerow(line)
    return "\ufeff" + out.getvalue()


def score_text(score: float | None) -> str:
    if score is None:
        return ""
    return f"{score:g}"

