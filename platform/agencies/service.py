"""Agencies: the staff list by department, the mandatory course and its report for HR.

A coordinator of an agency (appointed by an admin) uploads the staff list, makes a course mandatory
with a deadline, reminds those not done and reads the report: completion per department, who is
overdue, final-exam results. An admin may do all of it for any agency; nobody else sees anything.

The report is read in a fixed number of queries, aggregated by the database, whatever the number of
employees: an agency may have tens of thousands. Functions only flush.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import and_, case, func, insert, literal, update
from sqlmodel import Session, col, delete, select

from gennation.courses.models import Course, CourseCompletion, Enrollment, QuizAttempt
from gennation.courses.outline import CourseOutline, catalogue
from gennation.platform.accounts import first_time
from gennation.platform.accounts.models import Category, FirstTimeCode, Role, User
from gennation.platform.accounts.service import normal_username
from gennation.platform.agencies.models import Employee, Mandate, Reminder
from gennation.platform.audit import service as audit
from gennation.platform.database import utcnow
from gennation.platform.errors import InvalidField, NotFound
from gennation.platform.i18n import N_, gettext
# The states of a class assignment, with the same names: a mandatory course is an assignment with a deadline.
from gennation.platform.institutions.assignments import ALMATY, STATE_NAMES, State, as_utc, local_text
from gennation.platform.institutions import roster
from gennation.platform.institutions.directory import RowError
from gennation.platform.institutions.models import Coordinator, Institution, InstitutionKind

OVERDUE_SHOWN = 200  # on the page; the CSV holds everyone


# ---------------------------------------------------------------- who may manage an agency

def agency_for(session: Session, user: User, institution_id: int) -> Institution:
    """The agency `user` may manage: any for an admin, their own for its coordinators. NotFound for
    everyone else, so that nobody learns which agencies exist or who works there."""
    agency = session.get(Institution, institution_id)
    if agency is None or agency.kind != InstitutionKind.state_body:
        raise NotFound
    if user.role != Role.admin and session.exec(select(Coordinator.id).where(
            Coordinator.institution_id == agency.id, Coordinator.user_id == user.id)).first() is None:
        raise NotFound
    return agency


def agencies_coordinated(session: Session, user: User) -> list[Institution]:
    return list(session.exec(select(Institution).join(Coordinator).where(
        Coordinator.user_id == user.id, Institution.kind == InstitutionKind.state_body).order_by(Institution.name)))


# ---------------------------------------------------------------- the mandatory course

def parse_deadline(value: str | date | datetime | None, today: date | None = None) -> datetime:
    """A deadline is a day: the course must be done by the end of it, Almaty time (stored in UTC)."""
    if isinstance(value, datetime):
        value = value.astimezone(ALMATY).date() if value.tzinfo else value.date()
    elif isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidField("deadline", N_("Write the deadline as a date, for example 2027-03-01.")) from None
    if value is None:
        raise InvalidField("deadline", N_("Choose the deadline."))
    today = today or utcnow().astimezone(ALMATY).date()
    if value <= today:
        raise InvalidField("deadline", N_("The deadline must be a day after today."))
    return datetime.combine(value, time(23, 59, 59), ALMATY).astimezone(UTC)


def set_mandate(session: Session, by: User, institution_id: int, course_slug: str, deadline,
                today: date | None = None) -> Mandate:
    """Make a course mandatory for the agency's staff by a deadline; setting it again moves the deadline."""
    agency = agency_for(session, by, institution_id)
    try:
        catalogue(session).course(course_slug)
    except NotFound:
        raise InvalidField("course", N_("There is no such course.")) from None
    moment = parse_deadline(deadline, today)
    mandate = session.exec(select(Mandate).where(Mandate.institution_id == agency.id,
                                                 Mandate.course_slug == course_slug)).first()
    if mandate is None:
        mandate = Mandate(institution_id=agency.id, course_slug=course_slug, deadline=moment, created_by=by.id)
    mandate.deadline = moment
    session.add(mandate)
    session.flush()
    audit.record(session, by, "agency.mandate_set", object_type="mandate", object_id=mandate.id,
                 grant=audit.grant_of(by, agency.id), detail={"course": course_slug, "deadline": moment})
    return mandate


def mandates_of(session: Session, agency: Institution) -> list[Mandate]:
    return list(session.exec(select(Mandate).where(Mandate.institution_id == agency.id).order_by(Mandate.deadline)))


def mandate_of(session: Session, agency: Institution, mandate_id: int) -> Mandate:
    mandate = session.get(Mandate, mandate_id)
    if mandate is None or mandate.institution_id != agency.id:
        raise NotFound
    return mandate


# ---------------------------------------------------------------- the staff list

@dataclass
class StaffCheck:
    """A dry run of a staff file: the people ready to add, or why the file cannot be taken."""

    people: list = field(default_factory=list)  # roster.Person
    errors: list[RowError] = field(default_factory=list)
    new_accounts: int = 0
    existing_accounts: int = 0
    unchanged: int = 0

    @property
    def clean(self) -> bool:
        return not self.errors and bool(self.people)


@dataclass
class StaffAdded:
    accounts: list[tuple[User, str, str]] = field(default_factory=list)  # (account, department, first-time code)
    invited: int = 0
    moved: int = 0
    unchanged: int = 0


def _staff(session: Session, agency: Institution) -> dict[int, tuple[Employee, User]]:
    rows = session.exec(select(Employee, User).join(User, col(User.id) == Employee.user_id)
                        .where(Employee.institution_id == agency.id)).all()
    return {employee.user_id: (employee, user) for employee, user in rows}


def _made_here(session: Session, staff: dict[int, tuple[Employee, User]]) -> dict[tuple[str, str], User]:
    """Accounts made for people on the list (not their own), by (name, department): how a file uploaded
    again finds the people it added instead of making their accounts twice."""
    made = set(session.exec(select(FirstTimeCode.user_id).where(col(FirstTimeCode.user_id).in_(list(staff))))) \
        if staff else set()
    return {(user.display_name.casefold(), employee.department.casefold()): user
            for employee, user in staff.values() if user.id in made}


def check_staff(session: Session, by: User, institution_id: int, data: bytes) -> StaffCheck:
    """Read a staff file (name, department, and a username for people who already have an account) and
    check every row against the agency's list; writes nothing."""
    agency = agency_for(session, by, institution_id)
    read = roster.check(session, data)
    result = StaffCheck(errors=list(read.errors))
    staff = _staff(session, agency)
    made_here = _made_here(session, staff)
    usernames = {normal_username(p.username) for p in read.people if p.username}
    accounts = {u.username: u for u in session.exec(select(User).where(col(User.username).in_(usernames)))} \
        if usernames else {}
    elsewhere = dict(session.exec(select(Employee.user_id, Institution.name).join(Institution).where(
        col(Employee.user_id).in_([u.id for u in accounts.values()]), Employee.institution_id != agency.id,
        col(Employee.confirmed_at).is_not(None))).all()) if accounts else {}
    for person in read.people:
        department = (person.department or "").strip()
        if not department:
            result.errors.append(RowError(person.line, "department", N_("Write the person's department.")))
            continue
        if person.username:
            account = accounts.get(normal_username(person.username))
            if account is None:
                continue  # roster.check has reported the unknown username
            if account.id in elsewhere:
                result.errors.append(RowError(person.line, "username", N_(
                    "This person is on the staff of another agency (%(agency)s): only that agency can change it."),
                    {"agency": elsewhere[account.id]}))
                continue
            if account.id in staff:
                result.unchanged += staff[account.id][0].department == department
            else:
                result.existing_accounts += 1
        elif (person.name.casefold(), department.casefold()) in made_here:
            result.unchanged += 1
        else:
            result.new_accounts += 1
        result.people.append(person)
    if result.errors:
        result.people = []
    return result


def add_staff(session: Session, by: User, institution_id: int, checked: StaffCheck, lang: str) -> StaffAdded:
    """Add a clean dry run's people. Someone new gets an account made by the agency (with a first-time code,
    on the staff list at once); someone with an account is invited and counted once they accept.
    The same file again adds nobody; a person under another department moves to it."""
    if not checked.clean:
        raise ValueError("only a clean dry run can be imported")
    agency = agency_for(session, by, institution_id)
    staff = _staff(session, agency)
    made_here = _made_here(session, staff)
    usernames = {normal_username(p.username) for p in checked.people if p.username}
    accounts = {u.username: u for u in session.exec(select(User).where(col(User.username).in_(usernames)))} \
        if usernames else {}
    added, now = StaffAdded(), utcnow()
    for person in checked.people:
        department = person.department.strip()
        account = accounts.get(normal_username(person.username)) if person.username else \
            made_here.get((person.name.casefold(), department.casefold()))
        if account is not None and account.id in staff:
            employee = staff[account.id][0]
            if employee.department == department:
                added.unchanged += 1
            else:
                audit.record(session, by, "agency.employee_moved", object_type="agency", object_id=agency.id,
                             affected=account, grant=audit.grant_of(by, agency.id),
                             detail={"from": employee.department, "to": department})
                employee.department = department
                session.add(employee)
                added.moved += 1
            continue
        if account is None:
            account, code = first_time.create_account(
                session, by, person.name, role=Role.civil_servant, category=Category.civil_servant,
                region=agency.region, institution_id=agency.id, language=lang)
            added.accounts.append((account, department, code))
            employee = Employee(institution_id=agency.id, user_id=account.id, department=department, added_by=by.id,
                                added_at=now, confirmed_at=now)
        else:
            employee = Employee(institution_id=agency.id, user_id=account.id, department=department, added_by=by.id,
                                added_at=now)
            added.invited += 1
        session.add(employee)
        staff[account.id] = (employee, account)
        audit.record(session, by, "agency.employee_added", object_type="agency", object_id=agency.id, affected=account,
                     grant=audit.grant_of(by, agency.id),
                     detail={"department": department, "account": "invited" if employee.confirmed_at is None else "made"})
    session.flush()
    return added


def departments(session: Session, agency: Institution) -> list[tuple[str, int, int]]:
    """(department, employees counted, invited and not yet accepted), by department."""
    rows = session.exec(select(Employee.department, func.count(Employee.confirmed_at),
                               func.sum(case((col(Employee.confirmed_at).is_(None), 1), else_=0)))
                        .where(Employee.institution_id == agency.id).group_by(Employee.department)
                        .order_by(Employee.department)).all()
    return [(department, int(counted), int(awaiting or 0)) for department, counted, awaiting in rows]


def remove_employee(session: Session, by: User, institution_id: int, user_id: int) -> None:
    """Take someone off the staff list (they keep their account and progress)."""
    agency = agency_for(session, by, institution_id)
    removed = session.exec(delete(Employee).where(Employee.institution_id == agency.id, Employee.user_id == user_id))
    if removed.rowcount:
        audit.record(session, by, "agency.employee_removed", object_type="agency", object_id=agency.id,
                     affected=user_id, grant=audit.grant_of(by, agency.id))


@dataclass
class Invitation:
    employee: Employee
    agency: Institution


def invitations(session: Session, user: User) -> list[Invitation]:
    """Agencies that put this person on their staff list and wait for them to accept."""
    rows = session.exec(select(Employee, Institution).join(Institution).where(
        Employee.user_id == user.id, col(Employee.confirmed_at).is_(None))).all()
    return [Invitation(employee, agency) for employee, agency in rows]


def answer_invitation(session: Session, user: User, employee_id: int, accept: bool) -> None:
    """Accepting lets the agency's coordinators see this person's progress in its mandatory courses;
    declining takes them off its list."""
    employee = session.get(Employee, employee_id)
    if employee is None or employee.user_id != user.id or employee.confirmed_at is not None:
        raise NotFound
    if accept:
        employee.confirmed_at = utcnow()
        session.add(employee)
    else:
        session.delete(employee)
    session.flush()


# ---------------------------------------------------------------- the report

@dataclass
class DepartmentLine:
    department: str
    employees: int
    done: int
    done_late: int
    in_progress: int
    overdue: int
    not_started: int
    exam_taken: int
    exam_passed: int
    average_score: float | None

    @property
    def percent_done(self) -> int:
        return round(100 * self.done / self.employees) if self.employees else 0


@dataclass
class PersonLine:
    user_id: int
    name: str
    username: str
    department: str
    state: State
    completed_at: datetime | None
    best_score: float | None
    attempts: int
    reminded: int


@dataclass
class Report:
    agency: Institution
    mandate: Mandate
    course: CourseOutline
    departments: list[DepartmentLine]
    total: DepartmentLine
    awaiting: int  # invited, not yet accepted: not counted
    overdue: list[PersonLine]
    overdue_count: int
    now: datetime


def _exam_results(course: CourseOutline, agency_id: int):
    """Best final-exam score, passes and attempts of each employee of the agency (a subquery)."""
    final = course.final_exam
    staff_ids = select(Employee.user_id).where(Employee.institution_id == agency_id)
    return select(QuizAttempt.user_id, func.max(QuizAttempt.score).label("best"),
                  func.count().label("attempts"),
                  func.max(case((col(QuizAttempt.passed).is_(True), 1), else_=0)).label("passed")) \
        .where(QuizAttempt.quiz_id == (final.id if final else -1), col(QuizAttempt.graded_at).is_not(None),
               col(QuizAttempt.user_id).in_(staff_ids)) \
        .group_by(QuizAttempt.user_id).subquery()


def _state_of(mandate: Mandate, now: datetime):
    """The employee's state as an SQL expression over the joined completion and enrolment."""
    deadline = as_utc(mandate.deadline)
    late = now > deadline
    return case(
        (and_(col(CourseCompletion.id).is_not(None), CourseCompletion.completed_at <= deadline), literal(State.done.value)),
        (col(CourseCompletion.id).is_not(None), literal(State.done_late.value)),
        (literal(late), literal(State.overdue.value)),
        (col(Enrollment.id).is_not(None), literal(State.in_progress.value)),
        else_=literal(State.not_started.value))


def _joined(query, course: CourseOutline, agency_id: int, exams):
    return query.select_from(Employee) \
        .outerjoin(CourseCompletion, and_(CourseCompletion.user_id == Employee.user_id,
                                          CourseCompletion.course_id == course.id)) \
        .outerjoin(Enrollment, and_(Enrollment.user_id == Employee.user_id, Enrollment.course_id == course.id)) \
        .outerjoin(exams, exams.c.user_id == Employee.user_id) \
        .where(Employee.institution_id == agency_id, col(Employee.confirmed_at).is_not(None))


def report(session: Session, by: User, institution_id: int, mandate_id: int, now: datetime | None = None,
           department: str | None = None) -> Report:
    """The mandatory course's report: one line per department, the total, and the first people overdue.
    Four queries, whatever the number of employees."""
    agency = agency_for(session, by, institution_id)
    mandate = mandate_of(session, agency, mandate_id)
    course = catalogue(session).course(mandate.course_slug)
    now = as_utc(now) or utcnow()
    exams = _exam_results(course, agency.id)
    state = _state_of(mandate, now).label("state")
    counted = lambda name: func.sum(case((state == name, 1), else_=0))  # noqa: E731
    lines = session.exec(_joined(select(
        Employee.department, func.count(), counted(State.done.value), counted(State.done_late.value),
        counted(State.in_progress.value), counted(State.overdue.value), counted(State.not_started.value),
        func.count(exams.c.user_id), func.coalesce(func.sum(exams.c.passed), 0), func.avg(exams.c.best)),
        course, agency.id, exams).group_by(Employee.department).order_by(Employee.department)).all()
    departments = [DepartmentLine(row[0], *(int(value or 0) for value in row[1:9]),
                                  float(row[9]) if row[9] is not None else None) for row in lines]
    awaiting = session.exec(select(func.count()).select_from(Employee).where(
        Employee.institution_id == agency.id, col(Employee.confirmed_at).is_(None))).one()
    overdue_query = _people_query(course, agency.id, mandate, now, exams).where(state == State.overdue.value)
    if department:
        overdue_query = overdue_query.where(Employee.department == department)
    overdue_count = session.exec(_joined(select(func.count()), course, agency.id, exams)
                                 .where(state == State.overdue.value)
                                 .where(*([Employee.department == department] if department else []))).one()
    overdue = [_person(row) for row in session.exec(overdue_query.limit(OVERDUE_SHOWN)).all()]
    return Report(agency, mandate, course, departments, _total(departments), awaiting, overdue, overdue_count, now)


def _total(lines: list[DepartmentLine]) -> DepartmentLine:
    taken = sum(line.exam_taken for line in lines)
    scored = sum(line.average_score * line.exam_taken for line in lines if line.average_score is not None)
    return DepartmentLine("", *(sum(getattr(line, name) for line in lines) for name in (
        "employees", "done", "done_late", "in_progress", "overdue", "not_started", "exam_taken", "exam_passed")),
        scored / taken if taken else None)


def _people_query(course: CourseOutline, agency_id: int, mandate: Mandate, now: datetime, exams):
    return _joined(select(User.id, User.display_name, User.username, Employee.department, _state_of(mandate, now),
                          CourseCompletion.completed_at, exams.c.best, func.coalesce(exams.c.attempts, 0),
                          func.coalesce(Reminder.times, 0)), course, agency_id, exams) \
        .join(User, col(User.id) == Employee.user_id) \
        .outerjoin(Reminder, and_(Reminder.user_id == Employee.user_id, Reminder.mandate_id == mandate.id)) \
        .order_by(Employee.department, User.display_name, User.id)


def _person(row) -> PersonLine:
    return PersonLine(row[0], row[1], row[2], row[3], State(row[4]), as_utc(row[5]),
                      float(row[6]) if row[6] is not None else None, int(row[7]), int(row[8]))


def people(session: Session, by: User, institution_id: int, mandate_id: int, now: datetime | None = None):
    """Every employee's line of the report (for the CSV), in one query, as an iterator."""
    agency = agency_for(session, by, institution_id)
    mandate = mandate_of(session, agency, mandate_id)
    course = catalogue(session).course(mandate.course_slug)
    now = as_utc(now) or utcnow()
    rows = session.exec(_people_query(course, agency.id, mandate, now, _exam_results(course, agency.id)))
    return mandate, course, (_person(row) for row in rows)


CSV_COLUMNS = (N_("Department"), N_("Name"), N_("Username"), N_("State"), N_("Completed on (Almaty time)"),
               N_("Best final exam score, %"), N_("Final exam attempts"), N_("Reminders"))


def report_csv(session: Session, by: User, institution_id: int, mandate_id: int, lang: str,
               now: datetime | None = None) -> str:
    """The report for HR: one row per employee, with the numbers the page shows, in the reader's language
    (with a BOM and ";" so that Excel here opens it as it is)."""
    mandate, course, lines = people(session, by, institution_id, mandate_id, now)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([gettext(lang, name) for name in CSV_COLUMNS])
    states = {state: gettext(lang, name) for state, name in STATE_NAMES.items()}
    for line in lines:
        writer.writerow([line.department, line.name, line.username, states[line.state], local_text(line.completed_at),
                         "" if line.best_score is None else f"{line.best_score:.0f}", line.attempts, line.reminded])
    return "\ufeff" + out.getvalue()


# ---------------------------------------------------------------- reminders

def remind(session: Session, by: User, institution_id: int, mandate_id: int, now: datetime | None = None) -> int:
    """Remind every employee who has not completed the course: their home page says so, and the reminder
    list (with `emailed_at` empty) is what e-mails will be sent from. Three statements, whatever the size."""
    agency = agency_for(session, by, institution_id)
    mandate = mandate_of(session, agency, mandate_id)
    course = catalogue(session).course(mandate.course_slug)
    now = as_utc(now) or utcnow()
    not_done = select(Employee.user_id).where(
        Employee.institution_id == agency.id, col(Employee.confirmed_at).is_not(None),
        ~col(Employee.user_id).in_(select(CourseCompletion.user_id).where(CourseCompletion.course_id == course.id)))
    reminded = select(Reminder.user_id).where(Reminder.mandate_id == mandate.id)
    session.exec(update(Reminder).where(Reminder.mandate_id == mandate.id, col(Reminder.user_id).in_(not_done))
                 .values(times=Reminder.times + 1, last_at=now, emailed_at=None))
    session.exec(insert(Reminder).from_select(
        ["mandate_id", "user_id", "times", "last_at"],
        select(literal(mandate.id), Employee.user_id, literal(1), literal(now, type_=Reminder.__table__.c.last_at.type))
        .where(col(Employee.user_id).in_(not_done), ~col(Employee.user_id).in_(reminded),
               Employee.institution_id == agency.id)))
    count = session.exec(select(func.count()).select_from(Reminder).where(
        Reminder.mandate_id == mandate.id, Reminder.last_at == now)).one()
    audit.record(session, by, "agency.reminders_sent", object_type="mandate", object_id=mandate.id,
                 grant=audit.grant_of(by, agency.id), detail={"reminded": count})
    return count


# ---------------------------------------------------------------- what an employee sees

@dataclass
class MyMandate:
    agency: Institution
    mandate: Mandate
    course: CourseOutline
    state: State
    reminder: Reminder | None


def my_mandates(session: Session, user: User, now: datetime | None = None) -> list[MyMandate]:
    """The courses this person's agencies require of them, with the deadline, their state and any reminder
    (one query)."""
    rows = session.exec(select(Mandate, Institution, Course.id, Enrollment.id, CourseCompletion.completed_at, Reminder)
                        .join(Institution, col(Institution.id) == Mandate.institution_id)
                        .join(Employee, and_(Employee.institution_id == Mandate.institution_id,
                                             Employee.user_id == user.id, col(Employee.confirmed_at).is_not(None)))
                        .join(Course, Course.slug == Mandate.course_slug)
                        .outerjoin(Enrollment, and_(Enrollment.user_id == user.id, Enrollment.course_id == Course.id))
                        .outerjoin(CourseCompletion, and_(CourseCompletion.user_id == user.id,
                                                          CourseCompletion.course_id == Course.id))
                        .outerjoin(Reminder, and_(Reminder.mandate_id == Mandate.id, Reminder.user_id == user.id))
                        .order_by(Mandate.deadline)).all()
    if not rows:
        return []
    now, known = as_utc(now) or utcnow(), {course.id: course for course in catalogue(session).courses}
    mine = []
    for mandate, agency, course_id, enrollment_id, completed_at, reminder in rows:
        if course_id not in known:
            continue  # a retired course
        deadline = as_utc(mandate.deadline)
        state = (State.done if as_utc(completed_at) <= deadline else State.done_late) if completed_at \
            else State.overdue if now > deadline else State.in_progress if enrollment_id else State.not_started
        mine.append(MyMandate(agency, mandate, known[course_id], state, reminder))
    return mine
