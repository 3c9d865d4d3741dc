"""Classes and the teachers who run them.

A teacher opens a class and learners join it with its code. Anyone may register as a teacher, so a
teacher sees learners' data only once vouched for (by an admin, the coordinator of the institution
they registered with, or an operator at the command line), and only what a learner did after joining.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, delete, select

from gennation.platform.accounts.models import Role, User
from gennation.platform.accounts.service import normal_username
from gennation.platform.audit import service as audit
from gennation.platform.database import utcnow
from gennation.platform.errors import Forbidden, InvalidField, NotFound
from gennation.platform.i18n import N_
from gennation.platform.institutions.models import ClassMember, Classroom, Coordinator, Institution, InstitutionKind

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud in class

AWAITING_CONFIRMATION = N_("Your teacher account is awaiting confirmation. You can already open classes and "
                           "give learners the join code, but you will see their conversations with the AI "
                           "tutor only after an administrator or the coordinator of your institution confirms "
                           "your account.")


class ClassError(InvalidField):
    """A class that cannot be opened or joined; `message` says why, for the form."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message)


# ---------------------------------------------------------------- classes

CLASS_LANGUAGES = ("kk", "ru")


def open_class(session: Session, teacher: User, name: str, group: str | None = None,
               language: str | None = None, institution_id: int | None = None,
               no_institution: bool = False) -> Classroom:
    """A new class with a fresh six-character join code (an unconfirmed teacher may prepare one). It belongs
    to `institution_id` from the directory, else (unless `no_institution`) to the teacher's institution."""
    if teacher.role not in (Role.teacher, Role.admin):
        raise Forbidden(N_("Only teachers can open a class."))
    name, group = name.strip(), (group or "").strip() or None
    errors = {}
    if not name or len(name) > 80:
        errors["name"] = N_("Give the class a name of 1 to 80 characters.")
    if group is not None and len(group) > 40:
        errors["group"] = N_("Write the grade or group in at most 40 characters.")
    language = language or (teacher.language if teacher.language in CLASS_LANGUAGES else "kk")
    if language not in CLASS_LANGUAGES:
        errors["language"] = N_("Choose Kazakh or Russian.")
    if institution_id is None and not no_institution:
        institution_id = teacher.institution_id
    elif institution_id is not None and session.get(Institution, institution_id) is None:
        errors["institution_id"] = N_("There is no such institution in the directory. Choose one from the list.")
    if errors:
        raise InvalidField(errors=errors)
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if session.exec(select(Classroom.id).where(Classroom.join_code == code)).first() is None:
            break
    classroom = Classroom(teacher_id=teacher.id, name=name, join_code=code, group=group, language=language,
                          institution_id=institution_id)
    session.add(classroom)
    session.flush()
    return classroom


def class_to_join(session: Session, code: str) -> Classroom:
    """The class a join code opens, or ClassError saying why it opens none."""
    classroom = session.exec(select(Classroom).where(Classroom.join_code == code.strip().upper()[:12])).first()
    if classroom is None:
        raise ClassError("code", N_("There is no class with this code. Check the code with your teacher."))
    if classroom.archived_at is not None:
        raise ClassError("code", N_("This class has been archived and can no longer be joined. Ask your teacher "
                                    "for the code of their current class."))
    return classroom


def join_class(session: Session, learner: User, code: str) -> Classroom:
    classroom = class_to_join(session, code)
    exists = session.exec(select(ClassMember).where(ClassMember.classroom_id == classroom.id,
                                                    ClassMember.user_id == learner.id)).first()
    if exists is None:
        session.add(ClassMember(classroom_id=classroom.id, user_id=learner.id))
    return classroom


def leave_class(session: Session, learner: User, classroom_id: int) -> None:
    """The learner leaves; their teacher sees nothing more of them (joining again starts afresh)."""
    left = session.exec(delete(ClassMember).where(col(ClassMember.classroom_id) == classroom_id,
                                                  col(ClassMember.user_id) == learner.id))
    if left.rowcount == 0:
        raise NotFound


def remove_learner(session: Session, teacher: User, classroom_id: int, learner_id: int) -> None:
    """The teacher takes a learner out of their class; the learner's own progress stays theirs."""
    classroom = taught_class(session, teacher, classroom_id)
    removed = session.exec(delete(ClassMember).where(col(ClassMember.classroom_id) == classroom.id,
                                                     col(ClassMember.user_id) == learner_id))
    if removed.rowcount == 0:
        raise NotFound
    audit.record(session, teacher, "class.learner_removed", object_type="classroom", object_id=classroom.id,
                 affected=learner_id)


def archive_class(session: Session, teacher: User, classroom_id: int, now: datetime | None = None) -> Classroom:
    """Archive a class: its members and results stay, but nobody can join it or be assigned through it."""
    classroom = taught_class(session, teacher, classroom_id)
    if classroom.archived_at is None:
        classroom.archived_at = now or utcnow()
        session.add(classroom)
        audit.record(session, teacher, "class.archived", object_type="classroom", object_id=classroom.id,
                     affected=classroom.teacher_id if classroom.teacher_id != teacher.id else None)
    return classroom


def classes_taught(session: Session, teacher: User) -> list[Classroom]:
    return list(session.exec(select(Classroom).where(Classroom.teacher_id == teacher.id).order_by(Classroom.name)))


@dataclass
class Membership:
    classroom: Classroom
    teacher: User
    joined_at: datetime

    @property
    def teacher_confirmed(self) -> bool:
        return is_confirmed_teacher(self.teacher)


def memberships(session: Session, learner: User) -> list[Membership]:
    """The classes a learner is in, with their teacher, for the learner's own page."""
    rows = session.exec(select(Classroom, User, ClassMember.joined_at).select_from(ClassMember)
                        .join(Classroom, col(Classroom.id) == ClassMember.classroom_id)
                        .join(User, col(User.id) == Classroom.teacher_id)
                        .where(ClassMember.user_id == learner.id).order_by(Classroom.name))
    return [Membership(classroom, teacher, joined_at) for classroom, teacher, joined_at in rows]


def taught_class(session: Session, teacher: User, classroom_id: int) -> Classroom:
    classroom = session.get(Classroom, classroom_id)
    if classroom is None or (classroom.teacher_id != teacher.id and teacher.role != Role.admin):
        raise NotFound
    return classroom


def class_with_learner_data(session: Session, teacher: User, classroom_id: int) -> Classroom:
    """A class whose learners' data `teacher` may see: their own, and only once they are confirmed.
    Every page or API that shows a teacher what learners did goes through here."""
    classroom = taught_class(session, teacher, classroom_id)
    if not is_confirmed_teacher(teacher):
        raise Forbidden(AWAITING_CONFIRMATION)
    return classroom


def members(session: Session, classroom: Classroom) -> list[User]:
    return list(session.exec(select(User).join(ClassMember, ClassMember.user_id == User.id)
                             .where(ClassMember.classroom_id == classroom.id).order_by(User.display_name)))


def teaches(session: Session, teacher: User, learner_id: int, at: datetime | None = None) -> bool:
    """Whether `teacher` is confirmed and `learner_id` is in one of their classes (and had joined it by `at`)."""
    if not is_confirmed_teacher(teacher):
        return False
    query = select(ClassMember.id).join(Classroom).where(Classroom.teacher_id == teacher.id,
                                                          ClassMember.user_id == learner_id)
    if at is not None:
        query = query.where(ClassMember.joined_at <= at)
    return session.exec(query).first() is not None


# ---------------------------------------------------------------- vouching for teachers

def is_confirmed_teacher(user: User) -> bool:
    return user.role == Role.admin or (user.role == Role.teacher and user.teacher_confirmed_at is not None)


def coordinated(session: Session, user: User) -> list[Institution]:
    """The institutions `user` was appointed to coordinate. The coordinator of a school, college or
    university vouches for teachers, so counts only while still a confirmed teacher; an agency's
    coordinator (HR, say) may hold any role."""
    rows = session.exec(select(Institution).join(Coordinator).where(Coordinator.user_id == user.id)
                        .order_by(Institution.name)).all()
    teacher = is_confirmed_teacher(user)
    return [institution for institution in rows if teacher or institution.kind == InstitutionKind.state_body]


def _vouching_scope(session: Session, by: User) -> list[int] | None:
    """The institutions whose teachers `by` may confirm; None for all (an admin). Forbidden for the rest."""
    if by.role == Role.admin:
        return None
    # An agency has no teachers to vouch for: its coordinator (HR, of any role) confirms nobody.
    institutions = [i for i in coordinated(session, by) if i.kind != InstitutionKind.state_body]
    if not institutions:
        raise Forbidden
    return [institution.id for institution in institutions]


def _teachers_with_institution():
    return select(User, Institution).outerjoin(Institution, col(Institution.id) == User.institution_id) \
        .where(User.role == Role.teacher)


def teachers_awaiting(session: Session, by: User) -> list[tuple[User, Institution | None]]:
    """Teachers not yet confirmed that `by` (an admin, or a coordinator for their institution) may confirm."""
    scope = _vouching_scope(session, by)
    query = _teachers_with_institution().where(col(User.teacher_confirmed_at).is_(None))
    if scope is not None:
        query = query.where(col(User.institution_id).in_(scope))
    return list(session.exec(query.order_by(User.created_at)).all())


def confirm_teacher(session: Session, teacher_id: int, by: User | None) -> User:
    """`by` vouches for a teacher; None is an operator at the command line. Confirming twice keeps the first date."""
    scope = _vouching_scope(session, by) if by is not None else None
    teacher = session.get(User, teacher_id)
    if teacher is None or teacher.role != Role.teacher or (scope is not None and teacher.institution_id not in scope):
        raise NotFound
    if teacher.teacher_confirmed_at is None:
        teacher.teacher_confirmed_at = utcnow()
        session.add(teacher)
        audit.record(session, by, "teacher.confirmed", object_type="user", object_id=teacher.id, affected=teacher,
                     grant=audit.grant_of(by, teacher.institution_id) if by is not None else None)
    return teacher


def appoint_coordinator(session: Session, by: User, user_id: int) -> Coordinator:
    """An admin makes a confirmed teacher the coordinator of the institution they registered with."""
    if by.role != Role.admin:
        raise Forbidden
    teacher = session.get(User, user_id)
    if teacher is None or teacher.role != Role.teacher:
        raise NotFound
    if teacher.teacher_confirmed_at is None or teacher.institution_id is None:
        raise InvalidField("user_id", N_("Only a confirmed teacher with an institution can coordinate it."))
    return _appointed(session, by, session.get(Institution, teacher.institution_id), teacher)


def appoint(session: Session, by: User, institution_id: int, username: str) -> Coordinator:
    """An admin makes an account the coordinator of an institution: for a school, college or university a
    confirmed teacher; for an agency anyone (its HR officer, say). The account joins the institution."""
    if by.role != Role.admin:
        raise Forbidden
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise NotFound
    person = session.exec(select(User).where(User.username == normal_username(username))).first()
    if person is None:
        raise InvalidField("username", N_("There is no account with this username."))
    if person.institution_id not in (None, institution.id):
        raise InvalidField("username", N_("This account belongs to another institution; its owner can change that "
                                          "in their details first."))
    if institution.kind != InstitutionKind.state_body and not is_confirmed_teacher(person):
        raise InvalidField("username", N_("Only a confirmed teacher with an institution can coordinate it."))
    person.institution_id = institution.id
    session.add(person)
    return _appointed(session, by, institution, person)


def _appointed(session: Session, by: User, institution: Institution, person: User) -> Coordinator:
    coordinator = session.exec(select(Coordinator).where(Coordinator.user_id == person.id,
                                                         Coordinator.institution_id == institution.id)).first()
    if coordinator is None:
        coordinator = Coordinator(institution_id=institution.id, user_id=person.id)
        session.add(coordinator)
        session.flush()
        audit.record(session, by, "institution.coordinator_appointed", object_type="institution",
                     object_id=institution.id, affected=person)
    return coordinator


def coordinators_of(session: Session, institution_id: int) -> list[User]:
    return list(session.exec(select(User).join(Coordinator, col(Coordinator.user_id) == User.id)
                             .where(Coordinator.institution_id == institution_id).order_by(User.display_name)))


def invite_teacher(session: Session, by: User, institution_id: int, name: str, lang: str) -> tuple[User, str]:
    """A coordinator (or an admin) makes an account for a teacher of their school, college or university,
    with a first-time code. Inviting is vouching: the teacher is confirmed at once."""
    from gennation.platform.accounts import first_time
    from gennation.platform.accounts.models import Category

    institution = session.get(Institution, institution_id)
    if institution is None or institution.kind == InstitutionKind.state_body or (
            by.role != Role.admin and institution not in coordinated(session, by)):
        raise NotFound
    teacher, code = first_time.create_account(session, by, name, role=Role.teacher, category=Category.adult,
                                              region=institution.region, institution_id=institution.id, language=lang)
    teacher.teacher_confirmed_at = utcnow()
    session.add(teacher)
    audit.record(session, by, "institution.teacher_invited", object_type="institution", object_id=institution.id,
                 affected=teacher, grant=audit.grant_of(by, institution.id))
    return teacher, code


def confirmed_teachers(session: Session) -> list[tuple[User, Institution | None, bool]]:
    """For admins: confirmed teachers, their institution and whether they coordinate it."""
    coordinating = set(session.exec(select(Coordinator.user_id, Coordinator.institution_id)).all())
    rows = session.exec(_teachers_with_institution().where(col(User.teacher_confirmed_at).is_not(None))
                        .order_by(User.display_name))
    return [(user, institution, (user.id, user.institution_id) in coordinating) for user, institution in rows]
