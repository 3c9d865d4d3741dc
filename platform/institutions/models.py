from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint, event
from sqlmodel import Field, SQLModel

from gennation.platform import personal_data
from gennation.platform.database import utcnow


class InstitutionKind(StrEnum):
    school = "school"
    college = "college"  # TVET
    university = "university"
    state_body = "state_body"
    other = "other"


class Institution(SQLModel, table=True):
    """A school, college, university or state body that people can belong to.

    Its adoptions of courses (`Adoption`) feed the indicator "share of universities and colleges with AI
    programmes".
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)  # the official name in Kazakh
    name_ru: str = Field(default="", max_length=200)  # and in Russian
    kind: InstitutionKind
    region: str = Field(max_length=40)
    # The BIN of an organisation, where it has one: what identifies it across imports of the directory.
    official_id: str | None = Field(default=None, max_length=12, unique=True)
    # Both names case-folded: SQLite's LIKE folds only Latin letters, and people type "әл-фараби".
    search_key: str = Field(default="", max_length=402, index=True)

    def title(self, lang: str) -> str:
        return self.name_ru if lang == "ru" and self.name_ru else self.name


@event.listens_for(Institution, "before_insert")
@event.listens_for(Institution, "before_update")
def _fill_search_key(_mapper, _connection, institution: Institution) -> None:
    institution.search_key = search_key(institution.name, institution.name_ru)


def search_key(*names: str) -> str:
    return " | ".join(name.casefold() for name in names if name)[:402]


class Classroom(SQLModel, table=True):
    """A teacher's class. Learners join with its code; once the teacher is confirmed, they see the
    learners' tutor conversations from the day each joined."""

    id: int | None = Field(default=None, primary_key=True)
    teacher_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=80)
    join_code: str = Field(max_length=12, unique=True, index=True)
    group: str | None = Field(default=None, max_length=40)  # a grade or group label: "9 А", "ИС-21"
    language: str = Field(default="kk", max_length=2)  # the language it is taught in: kk or ru
    # An archived class keeps its members and results, but can no longer be joined or assigned to.
    archived_at: datetime | None = None
    # The school, college or agency the class belongs to, from the directory (the teacher's, unless chosen).
    institution_id: int | None = Field(default=None, foreign_key="institution.id", ondelete="SET NULL", index=True)


class ClassMember(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("classroom_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    classroom_id: int = Field(foreign_key="classroom.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    # The teacher sees nothing from before this moment; leaving deletes the row, and with it the view.
    joined_at: datetime = Field(default_factory=utcnow)


class Coordinator(SQLModel, table=True):
    """A confirmed teacher whom an admin made coordinator of their institution: they confirm the
    teachers who registered with that institution."""

    __table_args__ = (UniqueConstraint("institution_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    appointed_at: datetime = Field(default_factory=utcnow)


class Assignment(SQLModel, table=True):
    """A course, one of its modules or one of its quizzes, assigned to a class, perhaps with a due date.

    `module_slug` and `quiz_slug` are "" when not given (not NULL), so that the unique constraint
    refuses the same thing assigned twice on every database."""

    __table_args__ = (UniqueConstraint("classroom_id", "course_slug", "module_slug", "quiz_slug"),)
    id: int | None = Field(default=None, primary_key=True)
    classroom_id: int = Field(foreign_key="classroom.id", ondelete="CASCADE", index=True)
    course_slug: str = Field(max_length=60)
    module_slug: str = Field(default="", max_length=60)
    quiz_slug: str = Field(default="", max_length=80)
    due_at: datetime | None = None  # UTC; shown in Asia/Almaty time
    created_at: datetime = Field(default_factory=utcnow)
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)


class Adoption(SQLModel, table=True):
    """An institution has taken a course into one of its programmes or disciplines. Counted, with the
    completions of its learners, by the indicator "share of universities and colleges with AI programmes"."""

    __table_args__ = (UniqueConstraint("institution_id", "course_slug", "programme"),)
    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", ondelete="CASCADE", index=True)
    course_slug: str = Field(max_length=60)
    programme: str = Field(max_length=200)  # the programme or discipline, as the institution names it
    since: date
    recorded_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    recorded_at: datetime = Field(default_factory=utcnow)


personal_data.holds("classes_taught", Classroom, Classroom.teacher_id)
personal_data.holds("class_memberships", ClassMember, ClassMember.user_id)
personal_data.holds("institutions_coordinated", Coordinator, Coordinator.user_id)
personal_data.holds("assignments_given", Assignment, Assignment.created_by)
personal_data.holds("course_adoptions_recorded", Adoption, Adoption.recorded_by)


class ClassInvitation(SQLModel, table=True):
    """A teacher's class list named someone who already has an account: they join only if they accept
    (on their classes page), and until then the teacher sees nothing of them."""

    __table_args__ = (UniqueConstraint("classroom_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    classroom_id: int = Field(foreign_key="classroom.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    invited_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    created_at: datetime = Field(default_factory=utcnow)


personal_data.holds("class_invitations", ClassInvitation, ClassInvitation.user_id)
