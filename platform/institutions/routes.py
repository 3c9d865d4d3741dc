"""Classes: teachers open them, learners join with a code and may leave; admins and institution
coordinators confirm teachers (pages and JSON API)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from gennation.frontend.rendering import render
from gennation.platform.accounts.models import Role
from gennation.platform.deps import ApiUser, Csrf, DbSession, Id, PageLang, PageUser, current_user
from gennation.platform.i18n import gettext
from gennation.platform.institutions import service
from gennation.platform.institutions.models import Institution
from gennation.platform.institutions.schemas import TeacherOut

pages = APIRouter(include_in_schema=False, dependencies=[Depends(current_user)])
api = APIRouter(prefix="/api/v1", tags=["classes"])


def _teacher_out(user, institution) -> TeacherOut:
    return TeacherOut(id=user.id, username=user.username, display_name=user.display_name,
                      institution_id=user.institution_id, institution=institution.name if institution else None,
                      created_at=user.created_at, teacher_confirmed_at=user.teacher_confirmed_at)


# ---------------------------------------------------------------- JSON API

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
          status_code: int = 200):
    return render(request, "institutions/classes.html", {
        "taught": service.classes_taught(session, user), "memberships": service.memberships(session, user),
        "confirmed": service.is_confirmed_teacher(user), "awaiting_message": service.AWAITING_CONFIRMATION,
        "vouches": user.role == Role.admin or bool(service.coordinated(session, user)),
        "error": error, "form": form or {},
    }, lang=lang, status_code=status_code)


@pages.get("/{lang}/classes")
def classes_page(request: Request, lang: PageLang, session: DbSession, user: PageUser):
    return _page(request, lang, session, user)


@pages.post("/{lang}/classes", dependencies=[Csrf])
def open_class(request: Request, lang: PageLang, session: DbSession, user: PageUser,
               name: Annotated[str, Form()] = ""):
    try:
        service.open_class(session, user, name)
    except service.ClassError as error:
        return _page(request, lang, session, user, gettext(lang, error.message), {"name": name}, 422)
    return RedirectResponse(f"/{lang}/classes", status_code=303)


@pages.post("/{lang}/classes/join", dependencies=[Csrf])
def join_class(request: Request, lang: PageLang, session: DbSession, user: PageUser,
               code: Annotated[str, Form()] = ""):
    try:
        service.join_class(session, user, code)
    except service.ClassError as error:
        return _page(request, lang, session, user, gettext(lang, error.message), {"code": code}, 422)
    return RedirectResponse(f"/{lang}/classes", status_code=303)


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
