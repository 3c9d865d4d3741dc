"""Agencies: the coordinator's pages (staff list, mandatory course, report, reminders), the employee's
answer to an invitation, and the same as a JSON API."""
from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from gennation.frontend.rendering import render
from gennation.platform.accounts import first_time
from gennation.platform.agencies import service
from gennation.platform.agencies.models import Mandate
from gennation.platform.agencies.schemas import (
    AgencyInvitationOut, CoordinatorIn, CoordinatorOut, DepartmentOut, InvitationAnswer, MandateIn, MandateOut, MyMandateOut, NewAccountOut,
    PersonOut, RemindedOut, ReportOut, StaffOut, StaffRowError,
)
from gennation.platform.deps import (
    ApiLang, ApiUser, Csrf, DbSession, Id, PageLang, PageUser, SubmittedForm, UnitOfWorkRoute, PagePerson,
)
from gennation.platform import files
from gennation.platform.errors import InvalidField
from gennation.platform.i18n import content_language, gettext
from gennation.platform.institutions import directory
from gennation.platform.institutions import service as institutions
from gennation.platform.institutions.assignments import as_utc, local_text

pages = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[PagePerson])
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["agencies"])

def _uploads(request: Request) -> FilePath:
    return request.app.state.settings.var_dir / "imports"


def _mandate_out(mandate: Mandate) -> MandateOut:
    return MandateOut(id=mandate.id, agency_id=mandate.institution_id, course=mandate.course_slug,
                      deadline=as_utc(mandate.deadline))


def _staff_out(checked: service.StaffCheck, lang: str, added: service.StaffAdded | None = None) -> StaffOut:
    out = StaffOut(dry_run=added is None, new_accounts=checked.new_accounts, existing_accounts=checked.existing_accounts,
                   unchanged=checked.unchanged,
                   errors=[StaffRowError(line=e.line, column=e.column, message=gettext(lang, e.message, **e.values))
                           for e in checked.errors])
    if added:
        out.accounts = [NewAccountOut(user_id=user.id, name=user.display_name, username=user.username,
                                      department=department, first_time_code=code)
                        for user, department, code in added.accounts]
        out.invited, out.moved, out.unchanged = added.invited, added.moved, added.unchanged
    return out


def _report_out(report: service.Report) -> ReportOut:
    line = lambda d: DepartmentOut(**{k: getattr(d, k) for k in DepartmentOut.model_fields})  # noqa: E731
    person = lambda p: PersonOut(**{k: getattr(p, k) for k in PersonOut.model_fields if k != "state"},  # noqa: E731
                                 state=p.state.value)
    return ReportOut(agency_id=report.agency.id, mandate_id=report.mandate.id, course=report.course.slug,
                     deadline=as_utc(report.mandate.deadline), departments=[line(d) for d in report.departments],
                     total=line(report.total), awaiting_acceptance=report.awaiting,
                     overdue=[person(p) for p in report.overdue], overdue_count=report.overdue_count)


def _csv(body: str, name: str) -> Response:
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------- JSON API

@api.post("/agencies/{agency_id}/mandates", response_model=MandateOut, status_code=201,
          responses={404: {"description": "No such agency, or not yours"}})
def api_set_mandate(agency_id: Id, data: MandateIn, session: DbSession, user: ApiUser):
    """Make a course mandatory for the agency's staff by a deadline (setting it again moves the deadline)."""
    return _mandate_out(service.set_mandate(session, user, agency_id, data.course, data.deadline))


@api.get("/agencies/{agency_id}/mandates", response_model=list[MandateOut])
def api_mandates(agency_id: Id, session: DbSession, user: ApiUser):
    return [_mandate_out(m) for m in service.mandates_of(session, service.agency_for(session, user, agency_id))]


@api.post("/agencies/{agency_id}/staff", response_model=StaffOut,
          responses={404: {"description": "No such agency, or not yours"}, 422: {"description": "Bad rows: nothing was added"}})
def api_add_staff(request: Request, agency_id: Id, session: DbSession, user: ApiUser, lang: ApiLang,
                  file: Annotated[UploadFile, File(description="CSV: name, department, username (optional)")],
                  dry_run: bool = True):
    """Check (dry_run, the default) or add a staff file. New people get accounts with first-time codes,
    returned once; people who already have an account are invited and counted once they accept."""
    service.agency_for(session, user, agency_id)  # a stranger's file is neither read nor kept
    data = files.read_upload(file, files.CSV, "staff", refused=_uploads(request))
    checked = service.check_staff(session, user, agency_id, data)
    if not checked.clean:
        return Response(_staff_out(checked, lang).model_dump_json(), status_code=422, media_type="application/json")
    if dry_run:
        return _staff_out(checked, lang)
    return _staff_out(checked, lang, service.add_staff(session, user, agency_id, checked, lang))


@api.get("/agencies/{agency_id}/mandates/{mandate_id}/report", response_model=ReportOut)
def api_report(agency_id: Id, mandate_id: Id, session: DbSession, user: ApiUser,
               department: Annotated[str, Query(max_length=120)] = ""):
    """Completion per department, the total, final-exam results and the people overdue."""
    return _report_out(service.report(session, user, agency_id, mandate_id, department=department or None))


@api.get("/agencies/{agency_id}/mandates/{mandate_id}/report.csv", response_class=Response,
         responses={200: {"content": {"text/csv": {}}}})
def api_report_csv(agency_id: Id, mandate_id: Id, session: DbSession, user: ApiUser, lang: ApiLang):
    """The HR report: one row per employee, in the caller's language."""
    return _csv(service.report_csv(session, user, agency_id, mandate_id, lang), f"agency-{agency_id}-{mandate_id}.csv")


@api.post("/agencies/{agency_id}/mandates/{mandate_id}/reminders", response_model=RemindedOut)
def api_remind(agency_id: Id, mandate_id: Id, session: DbSession, user: ApiUser):
    """Remind everyone who has not completed the course (on their home page; the list e-mails will use)."""
    return RemindedOut(reminded=service.remind(session, user, agency_id, mandate_id))


@api.get("/me/mandates", response_model=list[MyMandateOut])
def api_my_mandates(session: DbSession, user: ApiUser, lang: ApiLang):
    """The courses my agency requires of me, with the deadline and my state."""
    text = content_language(lang)
    return [MyMandateOut(agency_id=m.agency.id, agency=m.agency.title(lang), course=m.course.slug,
                         title=m.course.title.get(text, ""), deadline=as_utc(m.mandate.deadline), state=m.state.value,
                         reminded_at=as_utc(m.reminder.last_at) if m.reminder else None)
            for m in service.my_mandates(session, user)]


@api.get("/me/agency-invitations", response_model=list[AgencyInvitationOut])
def api_agency_invitations(session: DbSession, user: ApiUser, lang: ApiLang):
    """Agencies that put me on their staff list and wait for my answer."""
    return [AgencyInvitationOut(id=i.employee.id, agency_id=i.agency.id, agency=i.agency.title(lang),
                                department=i.employee.department) for i in service.invitations(session, user)]


@api.post("/me/agency-invitations/{employee_id}", status_code=204, response_class=Response)
def api_answer_invitation(employee_id: Id, data: InvitationAnswer, session: DbSession, user: ApiUser):
    """Accept (the agency then sees my progress in its mandatory courses) or decline being on its staff list."""
    service.answer_invitation(session, user, employee_id, data.accept)
    return Response(status_code=204)


@api.post("/institutions/{institution_id}/coordinators", response_model=CoordinatorOut, status_code=201)
def api_appoint_coordinator(institution_id: Id, data: CoordinatorIn, session: DbSession, user: ApiUser):
    """Admins: make an account the coordinator of an institution or agency."""
    coordinator = institutions.appoint(session, user, institution_id, data.username)
    return CoordinatorOut(institution_id=coordinator.institution_id, user_id=coordinator.user_id,
                          username=data.username.strip())


# ---------------------------------------------------------------- pages

def _agency_page(request: Request, lang: str, session, user, agency_id: int, status_code: int = 200, **context):
    agency = service.agency_for(session, user, agency_id)
    mandates = service.mandates_of(session, agency)
    return render(request, "agencies/agency.html", {
        "agency": agency, "mandates": mandates, "titles": _titles(session, lang),
        "summaries": {m.id: service.report(session, user, agency.id, m.id).total for m in mandates},
        "departments": service.departments(session, agency), "local_text": local_text, "form": {}, **context,
    }, lang=lang, status_code=status_code)


def _titles(session, lang: str) -> dict[str, str]:
    from gennation.courses.outline import catalogue
    text = content_language(lang)
    return {course.slug: course.title.get(text, course.slug) for course in catalogue(session).courses}


@pages.get("/{lang}/agencies")
def agencies_page(request: Request, lang: PageLang, session: DbSession, user: PageUser):
    """The agencies this person coordinates (straight to it when there is one)."""
    mine = service.agencies_coordinated(session, user)
    if len(mine) == 1:
        return RedirectResponse(f"/{lang}/agencies/{mine[0].id}", status_code=303)
    return render(request, "agencies/agencies.html", {"agencies": mine}, lang=lang)


@pages.get("/{lang}/agencies/{agency_id}")
def agency_page(request: Request, lang: PageLang, agency_id: Id, session: DbSession, user: PageUser):
    return _agency_page(request, lang, session, user, agency_id)


@pages.post("/{lang}/agencies/{agency_id}/mandates", dependencies=[Csrf])
def set_mandate(request: Request, lang: PageLang, agency_id: Id, session: DbSession, user: PageUser,
                course: Annotated[str, Form(max_length=60)] = "", deadline: Annotated[str, Form(max_length=40)] = ""):
    try:
        mandate = service.set_mandate(session, user, agency_id, course, deadline)
    except InvalidField as error:
        return _agency_page(request, lang, session, user, agency_id, 422, mandate_error=gettext(lang, error.message),
                            mandate_field=error.field, form={"course": course, "deadline": deadline})
    return RedirectResponse(f"/{lang}/agencies/{agency_id}/mandates/{mandate.id}", status_code=303)


@pages.post("/{lang}/agencies/{agency_id}/staff/check", dependencies=[Csrf])
def check_staff(request: Request, lang: PageLang, agency_id: Id, session: DbSession, user: PageUser, raw: SubmittedForm):
    """A dry run of a staff file; the file is kept (with the reasons, when refused)."""
    upload = raw.get("file")
    if not hasattr(upload, "filename") or not upload.filename:
        return _agency_page(request, lang, session, user, agency_id, 422, staff_error=gettext(lang, "Choose a CSV file."))
    service.agency_for(session, user, agency_id)  # a stranger's file is neither read nor kept
    data = files.read_upload(upload, files.CSV, "staff", refused=_uploads(request))
    checked, kept_as = directory.check_and_keep(_uploads(request), data,
                                                lambda data: service.check_staff(session, user, agency_id, data))
    return _agency_page(request, lang, session, user, agency_id, 200 if checked.clean else 422, checked=checked,
                        upload=kept_as, file_name=upload.filename)


@pages.post("/{lang}/agencies/{agency_id}/staff/import", dependencies=[Csrf])
def import_staff(request: Request, lang: PageLang, agency_id: Id, session: DbSession, user: PageUser,
                 upload: Annotated[str, Form(max_length=64)] = "", file_name: Annotated[str, Form(max_length=300)] = ""):
    """Add exactly the file that was checked (checked again: the list may have changed since), then show
    the sheet of first-time codes for the new accounts, once."""
    data = directory.kept(_uploads(request), upload)
    if data is None:
        return _agency_page(request, lang, session, user, agency_id, 404, staff_error=gettext(
            lang, "This upload is no longer kept. Please upload the file again."))
    checked = service.check_staff(session, user, agency_id, data)
    if not checked.clean:
        return _agency_page(request, lang, session, user, agency_id, 422, checked=checked, upload=upload,
                            file_name=file_name)
    added = service.add_staff(session, user, agency_id, checked, lang)
    agency = service.agency_for(session, user, agency_id)
    start = f"{str(request.base_url).rstrip('/')}/{lang}/start"
    cards = first_time.cards(start, [(account, code) for account, _, code in added.accounts],
                             {account.id: department for account, department, _ in added.accounts})
    return render(request, "agencies/codes.html", {"agency": agency, "added": added, "cards": cards}, lang=lang,
                  headers={"Cache-Control": "no-store"})


@pages.get("/{lang}/agencies/{agency_id}/mandates/{mandate_id}")
def report_page(request: Request, lang: PageLang, agency_id: Id, mandate_id: Id, session: DbSession, user: PageUser,
                department: Annotated[str, Query(max_length=120)] = "", reminded: int | None = None):
    """The report of one mandatory course; an htmx request for a department gets only the overdue list."""
    report = service.report(session, user, agency_id, mandate_id, department=department or None)
    return render(request, "agencies/report.html", {
        "report": report, "title": _titles(session, lang).get(report.course.slug, report.course.slug),
        "department": department, "reminded": reminded, "local_text": local_text, "states": service.STATE_NAMES,
    }, lang=lang, fragment="agencies/_overdue.html")


@pages.get("/{lang}/agencies/{agency_id}/mandates/{mandate_id}/report.csv")
def report_csv(lang: PageLang, agency_id: Id, mandate_id: Id, session: DbSession, user: PageUser):
    return _csv(service.report_csv(session, user, agency_id, mandate_id, lang), f"agency-{agency_id}-{mandate_id}.csv")


@pages.post("/{lang}/agencies/{agency_id}/mandates/{mandate_id}/remind", dependencies=[Csrf])
def remind(lang: PageLang, agency_id: Id, mandate_id: Id, session: DbSession, user: PageUser):
    count = service.remind(session, user, agency_id, mandate_id)
    return RedirectResponse(f"/{lang}/agencies/{agency_id}/mandates/{mandate_id}?reminded={count}", status_code=303)


@pages.post("/{lang}/agency-invitations/{employee_id}", dependencies=[Csrf])
def answer_invitation(lang: PageLang, employee_id: Id, session: DbSession, user: PageUser,
                      answer: Annotated[str, Form(max_length=10)] = ""):
    service.answer_invitation(session, user, employee_id, accept=answer == "accept")
    return RedirectResponse(f"/{lang}/", status_code=303)
