"""Lists of people uploaded as CSV: a teacher's class roster (and, for the lead's agencies, employees).

`check` reads a file as a whole first (a dry run): every bad row is reported with its line, column and
reason, and nothing is imported until the file is clean. A row names a person (required) and may name
the username of an account they already have, and a department (agencies; classes ignore it).

For a class, `import_class_roster` makes an account with a first-time code for each new name (the
pupil is in the class at once) and invites the accounts named by username (they join only if they
accept). Importing the same file again makes nothing twice: a name is matched against the class's
members whose accounts were made for them.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlmodel import Session, col, delete, select

from gennation.platform.accounts import first_time
from gennation.platform.accounts.models import Category, FirstTimeCode, Role, User
from gennation.platform.accounts.service import MAX_DISPLAY_NAME, normal_username
from gennation.platform.audit import service as audit
from gennation.platform.errors import InvalidField, NotFound
from gennation.platform.i18n import N_
from gennation.platform.institutions.directory import RowError, read_text
from gennation.platform.institutions.models import ClassInvitation, ClassMember, Classroom
from gennation.platform.institutions.service import taught_class

MAX_ROWS = 5_000
MAX_USERNAME = 40
MAX_DEPARTMENT = 200
MAX_CLASS_PEOPLE = 200  # each new pupil's code is hashed while the teacher waits

# Header names people write, in Kazakh, Russian and English, compared without case, spaces or punctuation.
HEADERS = {
    "name": {"name", "fullname", "displayname", "pupil", "student", "аты", "атыжөні", "толықатыжөні", "тааж",
             "тегіаты", "оқушы", "фио", "имя", "фамилияимя", "фамилияимяотчество", "полноеимя", "ученик",
             "сотрудник", "қызметкер"},
    "username": {"username", "login", "user", "логин", "пайдаланушыаты", "пайдаланушы", "имяпользователя",
                 "аккаунт", "account"},
    "department": {"department", "бөлім", "бөлімше", "құрылымдықбөлімше", "отдел", "подразделение"},
}


@dataclass(frozen=True)
class Person:
    line: int  # of the file, 1 being the header
    name: str
    username: str | None  # an existing account, as normal_username spells it
    department: str | None


@dataclass
class Checked:
    """What a dry run found: the people ready to import, or the reasons the file cannot be."""

    encoding: str = ""
    people: list[Person] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.errors and bool(self.people)


def _header_key(name: str) -> str:
    return re.sub(r"[\W_]", "", name.casefold())


def _columns(header: list[str]) -> dict[str, str]:
    """{our column: the header as the file wrote it}."""
    found: dict[str, str] = {}
    for written in header:
        key = _header_key(written)
        for column, names in HEADERS.items():
            if key in names and column not in found:
                found[column] = written
    return found


def check(session: Session, data: bytes) -> Checked:
    """A dry run of a list of people: reads and checks every row, writes nothing."""
    checked = Checked()
    read = read_text(data)
    if isinstance(read, RowError):
        checked.errors.append(read)
        return checked
    text, checked.encoding, delimiter = read
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip() for name in next(reader, [])]
    columns = _columns(header)
    if "name" not in columns:
        checked.errors.append(RowError(1, "", N_("The file has no column of names: its header should say "
                                                 "«name», «аты-жөні» or «ФИО».")))
        return checked
    index = {column: header.index(written) for column, written in columns.items()}
    rows = []
    for line, raw in enumerate(reader, start=2):
        if line > MAX_ROWS + 1:
            checked.errors.append(RowError(line, "", N_("A file may hold at most %(rows)s rows."), {"rows": MAX_ROWS}))
            break
        values = {column: (raw[i].strip() if i < len(raw) else "") for column, i in index.items()}
        if any(value.strip() for value in raw):  # an empty line is no one
            rows.append((line, values))
    known = _known_usernames(session, [values.get("username", "") for _, values in rows])
    seen: dict[tuple[str, str], int] = {}
    for line, values in rows:
        errors, person = _row(line, values, columns, known, checked.encoding)
        identity = ("username", person.username) if person.username else ("name", person.name.casefold())
        if identity in seen and not errors:
            column = columns["username" if person.username else "name"]
            errors.append(RowError(line, column, N_("The same person is already on line %(line)s."),
                                   {"line": seen[identity]}))
        seen.setdefault(identity, line)
        checked.errors += errors
        if not errors:
            checked.people.append(person)
    if not checked.people and not checked.errors:
        checked.errors.append(RowError(2, "", N_("The file has no rows.")))
    return checked


def _known_usernames(session: Session, written: list[str]) -> set[str]:
    usernames = {normal_username(name) for name in written if name and len(name) <= MAX_USERNAME}
    if not usernames:
        return set()
    return set(session.exec(select(User.username).where(col(User.username).in_(usernames))))


def _row(line: int, values: dict, columns: dict, known: set[str], encoding: str) -> tuple[list[RowError], Person]:
    errors = []
    name = " ".join(values["name"].split())
    username = normal_username(values.get("username", "")) or None
    department = values.get("department", "") or None
    if not name:
        errors.append(RowError(line, columns["name"], N_("The name is empty.")))
    elif len(name) > MAX_DISPLAY_NAME:
        errors.append(RowError(line, columns["name"], N_("The name is longer than %(limit)s characters."),
                               {"limit": MAX_DISPLAY_NAME}))
    elif encoding == "cp1251" and "?" in name:
        # Excel writes Windows-1251, which has no Kazakh letters, with "?" in their place.
        errors.append(RowError(line, columns["name"], N_("The name has «?» in place of letters: the file was "
                                                         "saved without Kazakh letters. Save it as «CSV UTF-8» "
                                                         "and upload it again.")))
    if username is not None and (len(username) > MAX_USERNAME or username not in known):
        errors.append(RowError(line, columns["username"], N_("There is no account with the username «%(value)s»."),
                               {"value": values["username"][:MAX_USERNAME]}))
    if department is not None and len(department) > MAX_DEPARTMENT:
        errors.append(RowError(line, columns["department"], N_("The department is longer than %(limit)s characters."),
                               {"limit": MAX_DEPARTMENT}))
    return errors, Person(line, name, username, department)


# ---------------------------------------------------------------- a class's roster

def check_class_list(session: Session, data: bytes) -> Checked:
    """`check` for a class: a class list holds at most MAX_CLASS_PEOPLE people."""
    checked = check(session, data)
    if len(checked.people) > MAX_CLASS_PEOPLE:
        checked.errors.append(RowError(checked.people[MAX_CLASS_PEOPLE].line, "",
                                       N_("A class list may hold at most %(rows)s pupils."), {"rows": MAX_CLASS_PEOPLE}))
    return checked


@dataclass
class Issued:
    """An account and its first-time code, for the sheet shown once."""

    user: User
    code: str


@dataclass
class RosterImported:
    created: list[Issued] = field(default_factory=list)
    invited: list[str] = field(default_factory=list)  # names, as the file wrote them
    already_in_class: list[str] = field(default_factory=list)
    already_invited: list[str] = field(default_factory=list)


def _grade_of(classroom: Classroom) -> int | None:
    """The grade a class's group label starts with ("9 Б" is grade 9), if it is a school grade."""
    match = re.match(r"\s*(\d{1,2})(?!\d)", classroom.group or "")
    return int(match.group(1)) if match and 1 <= int(match.group(1)) <= 11 else None


def _made_members(session: Session, classroom: Classroom) -> dict[str, User]:
    """The class's members whose accounts someone made for them, by their name case-folded."""
    rows = session.exec(select(User).join(ClassMember, col(ClassMember.user_id) == User.id)
                        .join(FirstTimeCode, col(FirstTimeCode.user_id) == User.id)
                        .where(ClassMember.classroom_id == classroom.id))
    return {" ".join(user.display_name.split()).casefold(): user for user in rows}


def import_class_roster(session: Session, teacher: User, classroom_id: int, checked: Checked) -> RosterImported:
    """Write a clean dry run: an account with a first-time code for each new name (in the class at
    once), an invitation for each existing account; what is already there is left and reported."""
    if not checked.clean:
        raise ValueError("only a clean dry run can be imported")
    classroom = taught_class(session, teacher, classroom_id)
    if classroom.archived_at is not None:
        raise InvalidField("file", N_("This class is archived: nobody can be added to it."))
    result = RosterImported()
    made = _made_members(session, classroom)
    named = [p.username for p in checked.people if p.username]
    users = {u.username: u for u in session.exec(select(User).where(col(User.username).in_(named)))} if named else {}
    ids = [u.id for u in users.values()]
    members = set(session.exec(select(ClassMember.user_id).where(
        ClassMember.classroom_id == classroom.id, col(ClassMember.user_id).in_(ids)))) if ids else set()
    invited = set(session.exec(select(ClassInvitation.user_id).where(
        ClassInvitation.classroom_id == classroom.id, col(ClassInvitation.user_id).in_(ids)))) if ids else set()
    grade = _grade_of(classroom)
    for person in checked.people:
        if person.username:
            user = users[person.username]
            if user.id in members:
                result.already_in_class.append(person.name)
            elif user.id in invited:
                result.already_invited.append(person.name)
            else:
                session.add(ClassInvitation(classroom_id=classroom.id, user_id=user.id, invited_by=teacher.id))
                invited.add(user.id)
                result.invited.append(person.name)
                audit.record(session, teacher, "class.learner_invited", object_type="classroom",
                             object_id=classroom.id, affected=user)
        elif person.name.casefold() in made:
            result.already_in_class.append(person.name)
        else:
            user, code = first_time.create_account(
                session, teacher, person.name, role=Role.learner, category=Category.school_student,
                region=teacher.region, institution_id=teacher.institution_id, language=classroom.language,
                school_grade=grade)
            session.add(ClassMember(classroom_id=classroom.id, user_id=user.id))
            made[person.name.casefold()] = user
            result.created.append(Issued(user, code))
            audit.record(session, teacher, "class.learner_added", object_type="classroom", object_id=classroom.id,
                         affected=user, detail={"account": "made"})
    session.flush()
    return result


def unclaimed_members(session: Session, classroom: Classroom, made_by: User | None = None) -> list[User]:
    """Members of the class whose accounts were made for them (by `made_by`, when given) and who have not
    chosen a password yet."""
    query = select(User).join(ClassMember, col(ClassMember.user_id) == User.id) \
        .join(FirstTimeCode, col(FirstTimeCode.user_id) == User.id) \
        .where(ClassMember.classroom_id == classroom.id, col(FirstTimeCode.used_at).is_(None))
    if made_by is not None:
        query = query.where(FirstTimeCode.created_by == made_by.id)
    return list(session.exec(query.order_by(User.display_name)))


def new_codes(session: Session, teacher: User, classroom_id: int, user_ids: list[int] | None = None) -> list[Issued]:
    """Fresh first-time codes for the class's members who have not claimed their accounts (all of them,
    or those named); their earlier codes stop working."""
    classroom = taught_class(session, teacher, classroom_id)
    pupils = unclaimed_members(session, classroom, None if teacher.role == Role.admin else teacher)
    if user_ids is not None:
        pupils = [pupil for pupil in pupils if pupil.id in set(user_ids)]
    return [Issued(pupil, first_time.new_code(session, teacher, pupil)) for pupil in pupils]


# ---------------------------------------------------------------- invitations, for the invited

@dataclass
class Invitation:
    invitation: ClassInvitation
    classroom: Classroom
    teacher: User


def invitations_of(session: Session, user: User) -> list[Invitation]:
    """The classes `user` is invited to, with their teacher, for the user's classes page."""
    rows = session.exec(select(ClassInvitation, Classroom, User).select_from(ClassInvitation)
                        .join(Classroom, col(Classroom.id) == ClassInvitation.classroom_id)
                        .join(User, col(User.id) == Classroom.teacher_id)
                        .where(ClassInvitation.user_id == user.id).order_by(ClassInvitation.created_at))
    return [Invitation(*row) for row in rows]


def _invitation(session: Session, user: User, invitation_id: int) -> ClassInvitation:
    invitation = session.get(ClassInvitation, invitation_id)
    if invitation is None or invitation.user_id != user.id:
        raise NotFound
    return invitation


def accept_invitation(session: Session, user: User, invitation_id: int) -> Classroom:
    """Join the class as with its join code: the teacher sees what the learner does from now on."""
    invitation = _invitation(session, user, invitation_id)
    classroom = session.get(Classroom, invitation.classroom_id)
    if classroom.archived_at is not None:
        raise InvalidField("invitation", N_("This class has been archived and can no longer be joined."))
    exists = session.exec(select(ClassMember.id).where(ClassMember.classroom_id == classroom.id,
                                                       ClassMember.user_id == user.id)).first()
    if exists is None:
        session.add(ClassMember(classroom_id=classroom.id, user_id=user.id))
    session.delete(invitation)
    session.flush()
    return classroom


def decline_invitation(session: Session, user: User, invitation_id: int) -> None:
    """The invitation is gone; the teacher learns nothing of the person."""
    session.exec(delete(ClassInvitation).where(col(ClassInvitation.id) == _invitation(session, user, invitation_id).id))
