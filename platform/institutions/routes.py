"""Classes: teachers open them, upload their rosters (accounts with first-time codes, invitations),
assign and read the gradebook; learners join with a code and may leave; admins and institution
coordinators confirm and invite teachers; admins import the directory of institutions and appoint
coordinators (pages and JSON API)."""
from __future__ import annotations

import io
from pathlib import Path as FilePath
from urllib.parse import urlencode
from typing import Annotated

import qrcode
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from gennation.courses import service as courses
from gennation.frontend.rendering import render
from gennation.platform.accounts import first_time
from gennation.platform.accounts.models import Role, User
from gennation.platform.accounts.vocabulary import INSTITUTION_KIND_NAMES, REGION_NAMES
from gennation.platform.deps import (
    ApiLang, ApiUser, Csrf, DbSession, Id, PageLang, PageUser, SubmittedForm, UnitOfWorkRoute, PagePerson,
    require_role,
)
from gennation.platform import files
from gennation.platform.errors import InvalidField, NotFound
from gennation.platform.i18n import N_, content_language, gettext
from gennation.platform.institutions import assignments, directory, roster, service
from gennation.platform.institutions.models import Assignment, Classroom, Institution
from gennation.platform.institutions.schemas import (
    AdoptionIn, AdoptionOut, AssignmentIn, AssignmentOut, CellOut, ClassIn, ClassOut, GradebookOut, GradebookRowOut, JoinIn, MyAssignmentOut,
    TeacherInviteIn, TeacherInvitedOut, TeacherOut,
)

pages = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[PagePerson])
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["classes"])


def _teacher_out(user, institution) -> TeacherOut:
    return TeacherOut(id=user.id, username=user.username, display_name=user.display_name,
                      institution_id=user.institution_id, institution=institution.name if institution else None,
                      created_at=user.created_at, teacher_confirmed_at=user.teacher_confirmed_at)


def _class_out(classroom: Classroom, session=None, lang: str = "kk") -> ClassOut:
    institution = session.get(Institution, classroom.institution_id) if session and classroom.institution_id else None
    return ClassOut(id=classroom.id, name=classroom.name, group=classroom.group, language=classroom.language,
                    join_code=classroom.join_code, archived_at=classroom.archived_at,
                    institution_id=classroom.institution_id, institution=institution.title(lang) if institution else None)


def _assignment_out(assignment: Assignment, goal: assignments.Target | None, lang: str) -> AssignmentOut:
    return AssignmentOut(id=assignment.id, class_id=assignment.classroom_id, course=assignment.course_slug,
                         module=assignment.module_slug or None, quiz=assignment.quiz_slug or None,
                         title=goal.title[lang] if goal else assignment.course_slug,
                         due=assignments.as_utc(assignment.due_at),
                         due_local=assignments.local_text(assignment.due_at) or None,
                         created_at=assignments.as_utc(assignment.created_at))


# ---------------------------------------------------------------- JSON API

@api.post("/classes", response_model=ClassOut, status_code=201,
          responses={403: {"description": "Only teachers open classes"}, 422: {"description": "A bad name, group or language"}})
def api_open_class(data: ClassIn, session: DbSession, user: ApiUser, lang: ApiLang):
    """Open a class (teachers): its join code is for the learners. It belongs to the teacher's institution
    unless `institution_id` names another from the directory, or is null for none."""
    no_institution = "institution_id" in data.model_fields_set and data.institution_id is None
    return _class_out(service.open_class(session, user, data.name, data.group, data.language, data.institution_id,
                                         no_institution=no_institution), session, lang)


@api.post("/classes/join", response_model=ClassOut,
          responses={422: {"description": "No class with this code, or the class is archived"}})
def api_join_class(data: JoinIn, session: DbSession, user: ApiUser):
    """Join a class with the code the teacher gave."""
    return _class_out(service.join_class(session, user, data.code))


@api.post("/classes/{classroom_id}/archive", response_model=ClassOut,
          responses={404: {"description": "Not a class of yours"}})
def api_archive_class(classroom_id: Id, session: DbSession, user: ApiUser):
    """Archive a class: results stay, nobody can join it or be assigned through it any more."""
    return _class_out(service.archive_class(session, user, classroom_id))


@api.delete("/classes/{classroom_id}/members/{user_id}", status_code=204,
            responses={404: {"description": "Not a class of yours, or no such learner in it"}})
def api_remove_learner(classroom_id: Id, user_id: Id, session: DbSession, user: ApiUser):
    """Take a learner out of your class (their own progress stays theirs)."""
    service.remove_learner(session, user, classroom_id, user_id)


@api.post("/classes/{classroom_id}/assignments", response_model=AssignmentOut, status_code=201,
          responses={404: {"description": "Not a class of yours"},
                     422: {"description": "No such course, module or quiz; a due date in the past; "
                                          "an archived class; or already assigned"}})
def api_assign(classroom_id: Id, data: AssignmentIn, session: DbSession, user: ApiUser, lang: ApiLang):
    """Assign a course, a module or a quiz to a class, with an optional due date."""
    assignment = assignments.assign(session, user, classroom_id, data.course, data.module, data.quiz, data.due)
    return _assignment_out(assignment, assignments.target(courses.catalogue(session), assignment), lang)


@api.get("/classes/{classroom_id}/gradebook", response_model=GradebookOut,
         responses={403: {"description": "Your teacher account is not confirmed yet"},
                    404: {"description": "Not a class of yours"}})
def api_gradebook(classroom_id: Id, session: DbSession, user: ApiUser, lang: ApiLang,
                  state: Annotated[str, Query(description="stuck, overdue, not_started, in_progress, done "
                                                          "(with done_late) or done_late")] = "",
                  assignment: Annotated[str, Query(description="an assignment id: its column only")] = "",
                  q: Annotated[str, Query(description="part of a learner's name or username")] = ""):
    """One row per learner (those who need help first), one cell per assignment; optionally filtered
    as on the page. Time spent is an estimate (see the fields)."""
    classroom = service.class_with_learner_data(session, user, classroom_id)
    book = assignments.gradebook(session, classroom)
    filters, problems = assignments.parse_filters(book, state, assignment, q)
    if problems:
        raise InvalidField(errors=problems)
    book = assignments.filtered(book, filters)
    return GradebookOut(
        class_id=classroom.id, learners=book.learners,
        assignments=[_assignment_out(a, book.targets[a.id], lang) for a in book.assignments],
        rows=[GradebookRowOut(
            learner_id=row.learner.id, username=row.learner.username, display_name=row.learner.display_name,
            stuck=bool(row.stuck), stuck_reasons=[gettext(lang, reason, **values) for reason, values in row.stuck],
            last_activity=row.last_activity, seconds_spent=row.seconds,
            minutes_spent=assignments.minutes(row.seconds),
            cells=[CellOut(assignment_id=c.assignment.id, state=c.state.value, best_score=c.best_score,
                           attempts=c.attempts, done_at=c.done_at, seconds_spent=c.seconds,
                           minutes_spent=assignments.minutes(c.seconds)) for c in row.cells],
        ) for row in book.rows])


@api.get("/me/assignments", response_model=list[MyAssignmentOut])
def api_my_assignments(session: DbSession, user: ApiUser, lang: ApiLang):
    """What the teachers of your classes assigned you, with the due date and where you stand."""
    return [MyAssignmentOut(class_id=m.classroom.id, class_name=m.classroom.name,
                            assignment=_assignment_out(m.cell.assignment, m.target, lang), state=m.cell.state.value,
                            best_score=m.cell.best_score, attempts=m.cell.attempts, url=f"/{lang}{m.target.url}")
            for m in assignments.my_assignments(session, user)]


@api.delete("/classes/{classroom_id}/membership", status_code=204, tags=["classes"],
            responses={404: {"description": "Not a member of this class"}})
def api_leave_class(classroom_id: Id, session: DbSession, user: ApiUser):
    """Leave a class: its teacher sees nothing more of you."""
    service.leave_class(session, user, classroom_id)


@api.get("/admin/teachers", response_model=list[TeacherOut],
         responses={403: {"description": "Not an admin or coordinator"}})
def api_teachers_awaiting(session: DbSession, user: ApiUser):
    """Teachers awaiting confirmation (an institution's coordinator sees those of their institution)."""
    return [_teacher_out(teacher, institution) for teacher, institution in service.teachers_awaiting(session, user)]


@api.post("/admin/teachers/{user_id}/confirm", response_model=TeacherOut,
          responses={403: {"description": "Not an admin or coordinator"}, 404: {"description": "No such teacher"}})
def api_confirm_teacher(user_id: Id, session: DbSession, user: ApiUser):
    """Vouch for a teacher: from now on they see their learners' tutor conversations."""
    teacher = service.confirm_teacher(session, user_id, by=user)
    institution = session.get(Institution, teacher.institution_id) if teacher.institution_id else None
    return _teacher_out(teacher, institution)


# ---------------------------------------------------------------- pages

def _page(request: Request, lang: str, session, user, error: str | None = None, form: dict | None = None,
          status_code: int = 200, chosen_institution: Institution | None = None):
    form = form or {}
    if "institution_id" not in form and user.institution_id and user.role in (Role.teacher, Role.admin):
        # a new class belongs to the teacher's institution unless they choose another
        chosen_institution = session.get(Institution, user.institution_id)
    return render(request, "institutions/classes.html", {
        "institution_query": form.get("institution_q", ""),
        "institution_matches": directory.search(session, form.get("institution_q", "")),
        "chosen_institution": chosen_institution, "region_names": REGION_NAMES,
        "taught": service.classes_taught(session, user), "memberships": service.memberships(session, user),
        "confirmed": service.is_confirmed_teacher(user), "awaiting_message": service.AWAITING_CONFIRMATION,
        "vouches": user.role == Role.admin or bool(service.coordinated(session, user)),
        "error": error, "form": form, "languages": LANGUAGE_NAMES,
        "invitations": roster.invitations_of(session, user),
    }, lang=lang, status_code=status_code)


@pages.get("/{lang}/classes")
def classes_page(request: Request, lang: PageLang, session: DbSession, user: PageUser):
    return _page(request, lang, session, user)


LANGUAGE_NAMES = {"kk": "Қазақ тілі", "ru": "Русский язык"}


@pages.post("/{lang}/classes", dependencies=[Csrf])
def open_class(request: Request, lang: PageLang, session: DbSession, user: PageUser,
               name: Annotated[str, Form()] = "", group: Annotated[str, Form()] = "",
               language: Annotated[str, Form()] = "", institution_q: Annotated[str, Form(max_length=100)] = "",
               find_institution: Annotated[str, Form()] = "", raw: SubmittedForm = None):
    # No radio sent: the teacher's institution; "None of these" sends "" (which Form() would read as None).
    chosen = raw.get("institution_id")
    chosen = chosen.strip() if isinstance(chosen, str) else None
    form = {"name": name, "group": group, "language": language, "institution_q": institution_q}
    if chosen is not None:
        form["institution_id"] = chosen
    picked = session.get(Institution, int(chosen)) if chosen and chosen.isdecimal() and len(chosen) < 12 else None
    # "Find" without JavaScript: the same form, with the institutions found. Enter in another field presses
    # it too (it is the form's first button): with nothing typed in the search box, that is "Open a class".
    if find_institution and institution_q.strip():
        return _page(request, lang, session, user, form=form, chosen_institution=picked)
    try:
        if chosen and picked is None:
            raise InvalidField("institution_id", N_("There is no such institution in the directory. "
                                                    "Choose one from the list."))
        service.open_class(session, user, name, group, language or None, picked.id if picked else None,
                           no_institution=chosen == "")
    except InvalidField as error:
        return _page(request, lang, session, user, gettext(lang, error.message), form, 422, picked)
    return RedirectResponse(f"/{lang}/classes", status_code=303)


@pages.post("/{lang}/classes/join", dependencies=[Csrf])
def join_class(request: Request, lang: PageLang, session: DbSession, user: PageUser,
               code: Annotated[str, Form()] = ""):
    try:
        service.join_class(session, user, code)
    except service.ClassError as error:
        return _page(request, lang, session, user, gettext(lang, error.message), {"code": code}, 422)
    return RedirectResponse(f"/{lang}/classes", status_code=303)


@pages.get("/{lang}/join/{code}")
def join_link(request: Request, lang: PageLang, session: DbSession, user: PageUser, code: Annotated[str, Path(max_length=12)]):
    """The class's join link (and what its QR code opens): which class it is, and a button to join."""
    try:
        classroom = service.class_to_join(session, code)
    except service.ClassError as error:
        return render(request, "institutions/join.html", {"error": gettext(lang, error.message)}, lang=lang,
                      status_code=404)
    teacher = session.get(User, classroom.teacher_id)
    return render(request, "institutions/join.html", {"classroom": classroom, "teacher": teacher}, lang=lang)


@pages.get("/{lang}/classes/{classroom_id}/join-code.png")
def join_qr(request: Request, lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser):
    """A QR code of the class's join link, to show on the classroom screen (its own teacher only)."""
    classroom = service.taught_class(session, user, classroom_id)
    image = qrcode.make(f"{str(request.base_url).rstrip('/')}/{lang}/join/{classroom.join_code}", box_size=12)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Response(buffer.getvalue(), media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@pages.post("/{lang}/classes/{classroom_id}/leave", dependencies=[Csrf])
def leave_class(lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser):
    service.leave_class(session, user, classroom_id)
    return RedirectResponse(f"/{lang}/classes", status_code=303)


def _teachers_page(request: Request, lang: str, session, user, error: str | None = None, status_code: int = 200):
    return render(request, "institutions/teachers.html", {
        "awaiting": service.teachers_awaiting(session, user),
        "confirmed_teachers": service.confirmed_teachers(session) if user.role == Role.admin else [],
        "coordinated": service.coordinated(session, user), "error": error,
    }, lang=lang, status_code=status_code)


@pages.get("/{lang}/admin/teachers")
def teachers_page(request: Request, lang: PageLang, session: DbSession, user: PageUser):
    """Admins and institution coordinators: teachers awaiting confirmation."""
    return _teachers_page(request, lang, session, user)


@pages.post("/{lang}/admin/teachers/{user_id}/confirm", dependencies=[Csrf])
def confirm_teacher(lang: PageLang, user_id: Id, session: DbSession, user: PageUser):
    service.confirm_teacher(session, user_id, by=user)
    return RedirectResponse(f"/{lang}/admin/teachers", status_code=303)


@pages.post("/{lang}/admin/teachers/{user_id}/coordinator", dependencies=[Csrf])
def appoint_coordinator(request: Request, lang: PageLang, user_id: Id, session: DbSession, user: PageUser):
    try:
        service.appoint_coordinator(session, user, user_id)
    except service.InvalidField as error:
        return _teachers_page(request, lang, session, user, gettext(lang, error.message), 422)
    return RedirectResponse(f"/{lang}/admin/teachers", status_code=303)


# ---------------------------------------------------------------- gradebook pages

def _gradebook_page(request: Request, lang: str, session, user, classroom_id: int, error: str | None = None,
                    form: dict | None = None, status_code: int = 200, filter_values: tuple = ("", "", "")):
    classroom = service.class_with_learner_data(session, user, classroom_id)
    whole = assignments.gradebook(session, classroom)
    filters, problems = assignments.parse_filters(whole, *filter_values)
    institution = session.get(Institution, classroom.institution_id) if classroom.institution_id else None
    return render(request, "institutions/gradebook.html", {
        "classroom": classroom, "book": assignments.filtered(whole, filters), "whole": whole, "filters": filters,
        "filter_problems": [gettext(lang, message) for message in problems.values()],
        "filter_states": assignments.FILTER_STATES, "filter_query": urlencode(filters.query()),
        "institution": institution, "states": assignments.STATE_NAMES,
        "choices": _choices(session, lang), "local_text": assignments.local_text,
        "time_text": lambda seconds: assignments.time_text(seconds, lang),
        "score_text": assignments.score_text, "error": error, "form": form or {}, "languages": LANGUAGE_NAMES,
    }, lang=lang, status_code=status_code, fragment="institutions/_gradebook_table.html")


def _choices(session, lang: str) -> list[tuple[str, str]]:
    """What can be assigned, as (form value, label): each course, its modules and its quizzes."""
    clang = content_language(lang)
    choices = []
    for course in courses.catalogue(session).courses:
        title = course.title.get(clang, "")
        choices.append((course.slug, title))
        for module in course.modules:
            choices.append((f"{course.slug}/module/{module.slug}", f"{title}: {module.title.get(clang, '')}"))
        for quiz in course.quizzes:
            choices.append((f"{course.slug}/quiz/{quiz.slug}", assignments._quiz_title(course, quiz, lang)))
    return choices


@pages.get("/{lang}/classes/{classroom_id}/gradebook")
def gradebook_page(request: Request, lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser,
                   state: str = "", assignment: str = "", q: str = ""):
    """A confirmed teacher's gradebook of a class: assignments, each learner's state, who needs help.
    Filtered by plain GET parameters; an htmx request gets only the table."""
    return _gradebook_page(request, lang, session, user, classroom_id, filter_values=(state, assignment, q))


@pages.get("/{lang}/classes/{classroom_id}/gradebook.csv")
def gradebook_csv(lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser,
                  state: str = "", assignment: str = "", q: str = ""):
    """The gradebook as the page shows it, with the same filters (values that mean nothing are left out)."""
    classroom = service.class_with_learner_data(session, user, classroom_id)
    book = assignments.gradebook(session, classroom)
    filters, _problems = assignments.parse_filters(book, state, assignment, q)
    body = assignments.gradebook_csv(assignments.filtered(book, filters), lang)
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="gradebook-{classroom.id}.csv"'})


@pages.post("/{lang}/classes/{classroom_id}/assignments", dependencies=[Csrf])
def assign(request: Request, lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser,
           target: Annotated[str, Form()] = "", due: Annotated[str, Form()] = ""):
    course, _, rest = target.partition("/")
    kind, _, slug = rest.partition("/")
    try:
        assignments.assign(session, user, classroom_id, course, slug if kind == "module" else None,
                           slug if kind == "quiz" else None, due)
    except InvalidField as error:
        return _gradebook_page(request, lang, session, user, classroom_id, gettext(lang, error.message),
                               {"target": target, "due": due}, 422)
    return RedirectResponse(f"/{lang}/classes/{classroom_id}/gradebook", status_code=303)


@pages.post("/{lang}/classes/{classroom_id}/archive", dependencies=[Csrf])
def archive(lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser):
    service.archive_class(session, user, classroom_id)
    return RedirectResponse(f"/{lang}/classes", status_code=303)


@pages.post("/{lang}/classes/{classroom_id}/members/{user_id}/remove", dependencies=[Csrf])
def remove_learner(lang: PageLang, classroom_id: Id, user_id: Id, session: DbSession, user: PageUser):
    service.remove_learner(session, user, classroom_id, user_id)
    return RedirectResponse(f"/{lang}/classes/{classroom_id}/gradebook", status_code=303)


# ---------------------------------------------------------------- the directory of institutions

def _uploads(request: Request) -> FilePath:
    return request.app.state.settings.var_dir / "imports"


def _directory_page(request: Request, lang: str, session, status_code: int = 200, **context):
    counts = directory.counts_by_kind(session)
    return render(request, "institutions/directory.html",
                  {"counts": counts, "total": sum(n for _, n in counts), "kind_names": INSTITUTION_KIND_NAMES,
                   **context}, lang=lang, status_code=status_code)


@pages.get("/{lang}/admin/institutions", dependencies=[Depends(require_role(Role.admin))])
def directory_page(request: Request, lang: PageLang, session: DbSession, q: Annotated[str, Query(max_length=100)] = ""):
    """The directory: its import, and institutions found by name (each with its coordinators)."""
    return _directory_page(request, lang, session, query=q, matches=directory.search(session, q, limit=50) if q else [])


def _institution_page(request: Request, lang: str, session, institution_id: int, status_code: int = 200, **context):
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise NotFound
    return render(request, "institutions/institution.html", {
        "institution": institution, "coordinators": service.coordinators_of(session, institution.id),
        "adoptions": directory.adoptions_of(session, institution.id), "kind_names": INSTITUTION_KIND_NAMES,
        "region_names": REGION_NAMES, "form": {}, **context}, lang=lang, status_code=status_code)


@pages.get("/{lang}/admin/institutions/{institution_id}", dependencies=[Depends(require_role(Role.admin))])
def institution_page(request: Request, lang: PageLang, institution_id: Id, session: DbSession):
    return _institution_page(request, lang, session, institution_id)


@pages.post("/{lang}/admin/institutions/{institution_id}/coordinators", dependencies=[Csrf])
def appoint(request: Request, lang: PageLang, institution_id: Id, session: DbSession, user: PageUser,
            username: Annotated[str, Form(max_length=40)] = ""):
    """Admins appoint a coordinator by username: a confirmed teacher for a school, anyone for an agency."""
    try:
        service.appoint(session, user, institution_id, username)
    except InvalidField as error:
        return _institution_page(request, lang, session, institution_id, 422, error=gettext(lang, error.message),
                                 form={"username": username})
    return RedirectResponse(f"/{lang}/admin/institutions/{institution_id}", status_code=303)


@pages.post("/{lang}/admin/institutions/check", dependencies=[Depends(require_role(Role.admin)), Csrf])
def directory_check(request: Request, lang: PageLang, session: DbSession, raw: SubmittedForm):
    """A dry run of an uploaded file; the file is kept (with the reasons, when refused)."""
    upload = raw.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _directory_page(request, lang, session, 422, error=gettext(lang, "Choose a CSV file."))
    data = files.read_upload(upload, files.CSV, "directory", refused=_uploads(request))
    checked, kept_as = directory.check_and_keep(_uploads(request), data, lambda data: directory.check(session, data))
    return _directory_page(request, lang, session, 200 if checked.clean else 422, checked=checked, upload=kept_as,
                           file_name=upload.filename)


@pages.post("/{lang}/admin/institutions/import", dependencies=[Depends(require_role(Role.admin)), Csrf])
def directory_import(request: Request, lang: PageLang, session: DbSession, user: PageUser,
                     upload: Annotated[str, Form(max_length=64)] = "", file_name: Annotated[str, Form(max_length=300)] = ""):
    """Import exactly the file that was checked (it is checked once more: the directory may have changed)."""
    data = directory.kept(_uploads(request), upload)
    if data is None:
        return _directory_page(request, lang, session, 404,
                               error=gettext(lang, "This upload is no longer kept. Please upload the file again."))
    checked = directory.check(session, data)
    if not checked.clean:
        return _directory_page(request, lang, session, 422, checked=checked, upload=upload, file_name=file_name)
    return _directory_page(request, lang, session, imported=directory.import_rows(session, checked, user))


@pages.get("/{lang}/institutions/search")
def institution_search(request: Request, lang: PageLang, session: DbSession,
                       institution_q: Annotated[str, Query(max_length=100)] = ""):
    """Institutions by part of their name: the list to choose from (htmx), or a page of its own."""
    context = {"institution_query": institution_q, "institution_matches": directory.search(session, institution_q),
               "chosen_institution": None, "region_names": REGION_NAMES}
    return render(request, "institutions/search.html", context, lang=lang,
                  fragment="institutions/_institution_choices.html")


@api.post("/institutions/{institution_id}/teachers", response_model=TeacherInvitedOut, status_code=201,
          responses={404: {"description": "No such school, college or university, or not yours"}})
def api_invite_teacher(institution_id: Id, data: TeacherInviteIn, session: DbSession, user: ApiUser, lang: ApiLang):
    """A coordinator makes an account for a teacher of their institution, confirmed at once, with a
    first-time code (returned once)."""
    teacher, code = service.invite_teacher(session, user, institution_id, data.name, lang)
    return TeacherInvitedOut(user_id=teacher.id, name=teacher.display_name, username=teacher.username,
                             first_time_code=code)


@api.post("/institutions/{institution_id}/adoptions", response_model=AdoptionOut, status_code=201,
          responses={404: {"description": "No such institution, or not yours to record for"}})
def api_record_adoption(institution_id: Id, data: AdoptionIn, session: DbSession, user: ApiUser):
    """Record that the institution teaches a course in a programme or discipline (an admin, or its coordinator)."""
    return directory.record_adoption(session, user, institution_id, data.course, data.programme, data.since)


@api.get("/institutions/{institution_id}/adoptions", response_model=list[AdoptionOut],
         responses={404: {"description": "No such institution"}})
def api_adoptions(institution_id: Id, session: DbSession, _user: ApiUser):
    if session.get(Institution, institution_id) is None:
        raise NotFound
    return directory.adoptions_of(session, institution_id)


# ---------------------------------------------------------------- the class roster: uploads, first-time codes, invitations

def _rosters(request: Request) -> FilePath:
    # Beside the directory's uploads: a refused file stays with its reasons, as there.
    return request.app.state.settings.var_dir / "imports" / "rosters"


def _roster_page(request: Request, lang: str, classroom: Classroom, status_code: int = 200, **context):
    return render(request, "institutions/roster.html", {"classroom": classroom, **context}, lang=lang,
                  status_code=status_code)


def start_address(request: Request, classroom: Classroom) -> str:
    """Where pupils sign in the first time, in the language the class is taught in."""
    return f"{str(request.base_url).rstrip('/')}/{classroom.language}/start"


def _sheet(request: Request, lang: str, classroom: Classroom, issued: list[roster.Issued], **context):
    """The printable sheet, one card a pupil. Shown once: only the codes' hashes are kept."""
    start = start_address(request, classroom)
    cards = first_time.cards(start, [(i.user, i.code) for i in issued])
    return render(request, "institutions/roster_sheet.html", {"classroom": classroom, "cards": cards, **context},
                  lang=lang, headers={"Cache-Control": "no-store"})


@pages.post("/{lang}/classes/{classroom_id}/roster/check", dependencies=[Csrf])
def roster_check(request: Request, lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser,
                 raw: SubmittedForm):
    """A dry run of an uploaded class list; the file is kept (with the reasons, when refused)."""
    classroom = service.class_with_learner_data(session, user, classroom_id)
    upload = raw.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _roster_page(request, lang, classroom, 422, error=gettext(lang, "Choose a CSV file."))
    data = files.read_upload(upload, files.CSV, "roster", refused=_rosters(request))
    checked, kept_as = directory.check_and_keep(_rosters(request), data, lambda data: roster.check_class_list(session, data))
    return _roster_page(request, lang, classroom, 200 if checked.clean else 422, checked=checked, upload=kept_as,
                        file_name=upload.filename[:300])


@pages.post("/{lang}/classes/{classroom_id}/roster/import", dependencies=[Csrf])
def roster_import(request: Request, lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser,
                  upload: Annotated[str, Form(max_length=64)] = "", file_name: Annotated[str, Form(max_length=300)] = ""):
    """Import exactly the file that was checked (checked once more), then show the sheet of codes."""
    classroom = service.class_with_learner_data(session, user, classroom_id)
    data = directory.kept(_rosters(request), upload)
    if data is None:
        return _roster_page(request, lang, classroom, 404,
                            error=gettext(lang, "This upload is no longer kept. Please upload the file again."))
    checked = roster.check_class_list(session, data)
    if not checked.clean:
        return _roster_page(request, lang, classroom, 422, checked=checked, upload=upload, file_name=file_name)
    try:
        imported = roster.import_class_roster(session, user, classroom.id, checked)
    except InvalidField as error:
        return _roster_page(request, lang, classroom, 422, error=gettext(lang, error.message))
    return _sheet(request, lang, classroom, imported.created, imported=imported)


@pages.post("/{lang}/classes/{classroom_id}/roster/codes", dependencies=[Csrf])
def roster_new_codes(request: Request, lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser,
                     raw: SubmittedForm):
    """New first-time codes for the pupils who have not signed in yet (all, or those named), to print."""
    classroom = service.class_with_learner_data(session, user, classroom_id)
    chosen = [int(v) for v in raw.getlist("user_id") if isinstance(v, str) and v.isdigit() and len(v) < 10]
    issued = roster.new_codes(session, user, classroom.id, chosen or None)
    return _sheet(request, lang, classroom, issued, reissued=True)


@pages.post("/{lang}/classes/invitations/{invitation_id}/accept", dependencies=[Csrf])
def accept_invitation(lang: PageLang, invitation_id: Id, session: DbSession, user: PageUser):
    roster.accept_invitation(session, user, invitation_id)
    return RedirectResponse(f"/{lang}/classes", status_code=303)


@pages.post("/{lang}/classes/invitations/{invitation_id}/decline", dependencies=[Csrf])
def decline_invitation(lang: PageLang, invitation_id: Id, session: DbSession, user: PageUser):
    roster.decline_invitation(session, user, invitation_id)
    return RedirectResponse(f"/{lang}/classes", status_code=303)
