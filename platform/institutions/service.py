"""Classes: a teacher opens one, learners join it with its code."""
from __future__ import annotations

import secrets

from sqlmodel import Session, select

from gennation.platform.accounts.models import Role, User
from gennation.platform.errors import InvalidField, NotFound
from gennation.platform.i18n import N_
from gennation.platform.institutions.models import ClassMember, Classroom

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud in class


class ClassError(InvalidField):
    """A class that cannot be opened or joined; `message` says why, for the form."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message)


def open_class(session: Session, teacher: User, name: str) -> Classroom:
    """A new class with a fresh six-character join code."""
    if teacher.role not in (Role.teacher, Role.admin):
        raise ClassError("name", N_("Only teachers can open a class."))
    name = name.strip()
    if not name or len(name) > 80:
        raise ClassError("name", N_("Give the class a name of 1 to 80 characters."))
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if session.exec(select(Classroom.id).where(Classroom.join_code == code)).first() is None:
            break
    classroom = Classroom(teacher_id=teacher.id, name=name, join_code=code)
    session.add(classroom)
    session.flush()
    return classroom


def join_class(session: Session, learner: User, code: str) -> Classroom:
    classroom = session.exec(select(Classroom).where(Classroom.join_code == code.strip().upper())).first()
    if classroom is None:
        raise ClassError("code", N_("There is no class with this code. Check the code with your teacher."))
    exists = session.exec(select(ClassMember).where(ClassMember.classroom_id == classroom.id,
                                                    ClassMember.user_id == learner.id)).first()
    if exists is None:
        session.add(ClassMember(classroom_id=classroom.id, user_id=learner.id))
    return classroom


def classes_taught(session: Session, teacher: User) -> list[Classroom]:
    return list(session.exec(select(Classroom).where(Classroom.teacher_id == teacher.id).order_by(Classroom.name)))


def classes_joined(session: Session, learner: User) -> list[Classroom]:
    return list(session.exec(select(Classroom).join(ClassMember).where(ClassMember.user_id == learner.id)))


def taught_class(session: Session, teacher: User, classroom_id: int) -> Classroom:
    classroom = session.get(Classroom, classroom_id)
    if classroom is None or (classroom.teacher_id != teacher.id and teacher.role != Role.admin):
        raise NotFound
    return classroom


def members(session: Session, classroom: Classroom) -> list[User]:
    return list(session.exec(select(User).join(ClassMember, ClassMember.user_id == User.id)
                             .where(ClassMember.classroom_id == classroom.id).order_by(User.display_name)))


def teaches(session: Session, teacher: User, learner_id: int) -> bool:
    """Whether `learner_id` is in one of `teacher`'s classes."""
    return session.exec(select(ClassMember.id).join(Classroom).where(
        Classroom.teacher_id == teacher.id, ClassMember.user_id == learner_id)).first() is not None
