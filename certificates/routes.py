"""Certificates: public verification (a page and the API), the holder's list, the PDF and revocation."""
from __future__ import annotations

import tempfile
import zipfile
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from gennation.certificates import service, tasks
from gennation.certificates.models import Certificate
from gennation.certificates.pdf import verification_url
from gennation.certificates.schemas import (
    CertificateLinks, MyCertificateOut, PrintedFields, RevokedOut, RevokeIn, VerificationOut,
)
from gennation.frontend.rendering import LANGUAGE_COOKIE, render
from gennation.platform.deps import (
    ApiLang, ApiUser, Csrf, CurrentUser, DbSession, Id, PageLang, PageUser, UnitOfWorkRoute, PagePerson,
)
from gennation.platform.errors import InvalidField, NotFound
from gennation.platform.i18n import content_language, gettext, negotiate
from gennation.platform.settings import LANGUAGES

pages = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[PagePerson])
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["certificates"])



def _base_url(request: Request) -> str:
    return request.app.state.settings.public_url


def printed(certificate: Certificate) -> PrintedFields:
    return PrintedFields(id=certificate.public_id, code=certificate.code, holder_name=certificate.holder_name,
                         kind=certificate.kind, course=certificate.course_slug, title=certificate.title,
                         stage=certificate.stage, award=certificate.award, place=certificate.place,
                         hours=certificate.hours,
                         issued_on=certificate.issued_on, language=certificate.language, issuer=certificate.issuer)


def verification(session, certificate: Certificate | None, base_url: str, reference: str = "",
                 lang: str = "en") -> VerificationOut:
    if certificate is None:
        withdrawn = service.find_withdrawn(session, reference) if reference else None
        if withdrawn is not None:  # the holder deleted the account: what happened, and nothing about them
            return VerificationOut(status="revoked", withdrawn=True, revoked_at=withdrawn.withdrawn_at,
                                   revoked_reason=gettext(lang, service.WITHDRAWN_REASON))
        return VerificationOut(status="unknown")
    replacement = service.replacement_of(session, certificate)
    return VerificationOut(status="revoked" if certificate.revoked else "valid", certificate=printed(certificate),
                           revoked_at=certificate.revoked_at, revoked_reason=certificate.revoked_reason,
                           replaced_by=replacement.public_id if replacement else None,
                           verify_url=verification_url(base_url, certificate))


def _links(certificate: Certificate) -> CertificateLinks:
    return CertificateLinks(verify=f"/verify/{certificate.public_id}",
                            pdf=f"/api/v1/certificates/{certificate.public_id}/pdf",
                            badge=f"/api/v1/certificates/{certificate.public_id}/badge")


def _pdf_response(request: Request, session, certificate: Certificate) -> Response:
    data = tasks.stored_pdf(session, request.app.state.settings, certificate)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="certificate-{certificate.code}.pdf"',
        "Cache-Control": "private, no-cache"})


# ---------------------------------------------------------------- JSON API

@api.get("/certificates/{reference}/verify", response_model=VerificationOut,
         responses={404: {"model": VerificationOut, "description": "No such certificate: `status` is `unknown`"}})
def api_verify(request: Request, reference: str, session: DbSession, lang: ApiLang):
    """Public, no account needed: `valid`, `revoked` (with the reason and date) or `unknown`, and the
    printed fields to compare with a copy. `reference` is the public id or the short code. A certificate
    whose holder deleted their account is `revoked` with `withdrawn: true` and no fields (none are kept)."""
    result = verification(session, service.find(session, reference), _base_url(request), reference, lang)
    if result.status == "unknown":
        return JSONResponse(result.model_dump(mode="json", exclude_none=True), status_code=404)
    return result


@api.get("/me/certificates", response_model=list[MyCertificateOut])
def api_my_certificates(session: DbSession, user: ApiUser, lang: ApiLang):
    """My certificates, newest first, each with its status and links (verification, PDF, badge)."""
    text = content_language(lang)
    return [MyCertificateOut(id=c.public_id, code=c.code, course=c.course_slug, title=c.title.get(text, ""),
                             status="revoked" if c.revoked else "valid", issued_on=c.issued_on, hours=c.hours,
                             pdf_status=c.pdf_status, links=_links(c)) for c in service.mine(session, user)]


@api.get("/certificates/{reference}/pdf", response_class=Response,
         responses={200: {"content": {"application/pdf": {}}}, 404: {"description": "No such certificate, or not yours"}})
def api_pdf(request: Request, reference: str, session: DbSession, user: ApiUser):
    """The PDF, for its holder (and admins and organisers); anyone else checks it on the verification page."""
    certificate = service.get(session, reference)
    if not service.readable_by(user, certificate):
        raise service.CertificateUnknown
    return _pdf_response(request, session, certificate)


@api.post("/certificates/{reference}/revoke", response_model=RevokedOut,
          responses={404: {"description": "No such certificate"}, 409: {"description": "Already revoked"},
                     422: {"description": "No reason given"}})
def api_revoke(reference: str, data: RevokeIn, session: DbSession, user: ApiUser):
    """Admins and organisers: revoke with a reason (kept in the audit log, shown on the verification page)."""
    certificate = service.revoke(session, user, reference, data.reason)
    return RevokedOut(id=certificate.public_id, status="revoked", revoked_at=certificate.revoked_at,
                      revoked_reason=certificate.revoked_reason)


# ---------------------------------------------------------------- pages

def _visitor_language(request: Request, user) -> str:
    lang = request.cookies.get(LANGUAGE_COOKIE)
    if lang not in LANGUAGES:
        lang = user.language if user else negotiate(request.headers.get("accept-language"))
    return lang


@pages.get("/verify")
def verify_root(request: Request, user: CurrentUser, code: Annotated[str, Query(max_length=200)] = ""):
    query = "?" + urlencode({"code": code}) if code else ""
    return RedirectResponse(f"/{_visitor_language(request, user)}/verify{query}", status_code=307)


@pages.get("/verify/{reference}")
def verify_short(request: Request, reference: str, user: CurrentUser):
    """The QR code's address: the same page in the visitor's language."""
    return RedirectResponse(f"/{_visitor_language(request, user)}/verify/{reference[:64]}", status_code=307)


@pages.get("/{lang}/verify")
def verify_search(request: Request, lang: PageLang, session: DbSession,
                  code: Annotated[str, Query(max_length=200)] = ""):
    """The search box: a code (or a public id) typed in opens its certificate's page."""
    if not code.strip():
        return render(request, "certificates/verify.html", {"result": None, "code": ""}, lang=lang)
    certificate = service.find(session, code) or service.find_withdrawn(session, code)
    if certificate is None:
        return render(request, "certificates/verify.html", {
            "result": VerificationOut(status="unknown"), "code": code,
            "error": gettext(lang, service.CertificateUnknown.message)}, lang=lang, status_code=404)
    return RedirectResponse(f"/{lang}/verify/{certificate.public_id}", status_code=303)


def _verify_page(request: Request, lang: str, session, user, reference: str, status_code: int | None = None,
                 **context):
    certificate = service.find(session, reference)
    result = verification(session, certificate, _base_url(request), reference, lang)
    known = certificate is not None or result.withdrawn
    return render(request, "certificates/verify.html", {
        "result": result, "code": "" if certificate else reference[:64],
        "error": None if known else gettext(lang, service.CertificateUnknown.message),
        "can_revoke": bool(certificate and user and service.can_revoke(user) and not certificate.revoked),
        "form": {}, "award_names": badge.AWARD_NAMES, **context,
    }, lang=lang, status_code=status_code or (200 if known else 404))


@pages.get("/{lang}/verify/{reference}")
def verify_page(request: Request, lang: PageLang, reference: str, session: DbSession, user: CurrentUser):
    """Public, no account, no JavaScript: the status and every printed field, nothing else about the person.
    Admins and organisers also find the revocation form here."""
    return _verify_page(request, lang, session, user, reference)


@pages.post("/{lang}/verify/{reference}/revoke", dependencies=[Csrf])
def revoke_page(request: Request, lang: PageLang, reference: str, session: DbSession, user: PageUser,
                reason: Annotated[str, Form(max_length=2000)] = ""):
    try:
        certificate = service.revoke(session, user, reference, reason)
    except (InvalidField, service.AlreadyRevoked) as error:
        return _verify_page(request, lang, session, user, reference, error.status,
                            revoke_error=gettext(lang, error.message), form={"reason": reason})
    return RedirectResponse(f"/{lang}/verify/{certificate.public_id}", status_code=303)


@pages.get("/{lang}/certificates")
def my_certificates(request: Request, lang: PageLang, session: DbSession, user: PageUser):
    """My certificates: the PDF, the badge, the verification link to share, and a text to share it with."""
    base = _base_url(request)
    text = content_language(lang)
    def share(c: Certificate) -> str:
        if c.kind == "tournament":  # the tournament's name carries its own quotation marks
            award = gettext(lang, badge.AWARD_NAMES.get(c.award, badge.AWARD_NAMES["participant"]))
            return gettext(lang, "%(award)s: %(title)s, %(stage)s. My diploma: %(url)s", award=award,
                           title=c.title.get(text, ""), stage=c.stage.get(text, ""), url=verification_url(base, c))
        return gettext(lang, "I completed the course «%(title)s» on Generative Nation. My certificate: %(url)s",
                       title=c.title.get(text, ""), url=verification_url(base, c))

    items = [{"certificate": c, "title": c.title.get(text, ""), "verify_url": verification_url(base, c),
              "links": _links(c), "share_text": share(c),
              "award": gettext(lang, badge.AWARD_NAMES[c.award]) if c.award in badge.AWARD_NAMES else "",
              "stage": c.stage.get(text, "")}
             for c in service.mine(session, user)]
    return render(request, "certificates/mine.html", {"items": items}, lang=lang)


@pages.get("/{lang}/certificates/{reference}.pdf")
def my_pdf(request: Request, lang: PageLang, reference: str, session: DbSession, user: PageUser):
    certificate = service.find(session, reference)
    if certificate is None or not service.readable_by(user, certificate):
        raise NotFound
    return _pdf_response(request, session, certificate)


# ---------------------------------------------------------------- a class's and an agency's certificates

def _group_page(request: Request, lang: str, certificates: list[Certificate], title: str, back: tuple[str, str],
                zip_url: str, batch=None, batch_base: str = ""):
    return render(request, "certificates/group.html", {
        "certificates": certificates, "title": title, "back": back, "zip_url": zip_url, "batch": batch,
        "batch_url": f"{batch_base}/batches/{batch.id}" if batch else "", "start_url": f"{batch_base}/batch",
    }, lang=lang)


def _zip(request: Request, session, certificates: list[Certificate], name: str) -> Response:
    """The PDFs as one ZIP (drawn where missing). Built in a spooled file: a large agency's would not fit
    in memory; for tens of thousands, the bulk task of a later step is the way."""
    settings = request.app.state.settings
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
        for certificate in certificates:
            archive.writestr(f"{certificate.code}.pdf", tasks.stored_pdf(session, settings, certificate))
    spool.seek(0)
    return StreamingResponse(spool, media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _class(session, user, classroom_id: int):
    from gennation.platform.institutions import service as institutions
    return institutions.class_with_learner_data(session, user, classroom_id)


def _mandate(session, user, agency_id: int, mandate_id: int):
    from gennation.platform.agencies import service as agencies
    agency = agencies.agency_for(session, user, agency_id)
    return agency, agencies.mandate_of(session, agency, mandate_id)


@pages.get("/{lang}/classes/{classroom_id}/certificates")
def class_certificates(request: Request, lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser):
    """The class's certificates, for its confirmed teacher (and admins)."""
    classroom = _class(session, user, classroom_id)
    return _group_page(request, lang, service.of_class(session, classroom.id), classroom.name,
                       (f"/{lang}/classes/{classroom.id}/gradebook", classroom.name),
                       f"/{lang}/classes/{classroom.id}/certificates.zip",
                       service.latest_batch(session, service.BatchKind.classroom, classroom.id),
                       f"/{lang}/classes/{classroom.id}/certificates")


@pages.get("/{lang}/classes/{classroom_id}/certificates.zip")
def class_certificates_zip(request: Request, lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser):
    classroom = _class(session, user, classroom_id)
    return _zip(request, session, service.of_class(session, classroom.id), f"class-{classroom.id}-certificates.zip")


@pages.get("/{lang}/agencies/{agency_id}/mandates/{mandate_id}/certificates")
def agency_certificates(request: Request, lang: PageLang, agency_id: Id, mandate_id: Id, session: DbSession,
                        user: PageUser):
    """The certificates of the mandatory course held by the agency's staff, for its coordinators."""
    agency, mandate = _mandate(session, user, agency_id, mandate_id)
    return _group_page(request, lang, service.of_agency(session, agency.id, mandate.course_slug), agency.title(lang),
                       (f"/{lang}/agencies/{agency.id}/mandates/{mandate.id}", agency.title(lang)),
                       f"/{lang}/agencies/{agency.id}/mandates/{mandate.id}/certificates.zip",
                       service.latest_batch(session, service.BatchKind.agency, mandate.id),
                       f"/{lang}/agencies/{agency.id}/mandates/{mandate.id}/certificates")


@pages.get("/{lang}/agencies/{agency_id}/mandates/{mandate_id}/certificates.zip")
def agency_certificates_zip(request: Request, lang: PageLang, agency_id: Id, mandate_id: Id, session: DbSession,
                            user: PageUser):
    agency, mandate = _mandate(session, user, agency_id, mandate_id)
    return _zip(request, session, service.of_agency(session, agency.id, mandate.course_slug),
                f"agency-{agency.id}-{mandate.course_slug}-certificates.zip")


# ---------------------------------------------------------------- issuing in bulk, with progress

def _batch_page(request: Request, lang: str, session, batch, title: str, back: tuple[str, str], page_url: str,
                zip_url: str, resume_url: str):
    from gennation.platform.accounts.models import User
    from gennation.platform.institutions.assignments import local
    starter = session.get(User, batch.created_by) if batch.created_by else None
    moment = lambda value: local(value).strftime("%d.%m.%Y %H:%M") if value else ""  # noqa: E731
    return render(request, "certificates/batch.html", {
        "batch": batch, "title": title, "back": back, "page_url": page_url, "zip_url": zip_url,
        "resume_url": resume_url, "working": batch.status == "pending" or service.batch_live(batch),
        "can_resume": service.resumable(batch), "started": moment(batch.started_at),
        "finished": moment(batch.finished_at), "started_by": starter.display_name if starter else "",
    }, lang=lang, fragment="certificates/_batch.html")


@pages.post("/{lang}/classes/{classroom_id}/certificates/batch", dependencies=[Csrf])
def class_batch_start(lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser):
    """Issue the certificates the class's learners earned since joining and do not have yet (completions from
    before certificates existed); resumes an unfinished batch instead of starting a second one."""
    classroom = _class(session, user, classroom_id)
    batch = service.start_batch(session, service.BatchKind.classroom, classroom.id, user)
    return RedirectResponse(f"/{lang}/classes/{classroom.id}/certificates/batches/{batch.id}", status_code=303)


@pages.get("/{lang}/classes/{classroom_id}/certificates/batches/{batch_id}")
def class_batch_page(request: Request, lang: PageLang, classroom_id: Id, batch_id: Id, session: DbSession,
                     user: PageUser):
    classroom = _class(session, user, classroom_id)
    batch = service.batch_of(session, batch_id, service.BatchKind.classroom, classroom.id)
    base = f"/{lang}/classes/{classroom.id}/certificates"
    return _batch_page(request, lang, session, batch, classroom.name, (base, classroom.name),
                       f"{base}/batches/{batch.id}", f"{base}.zip", f"{base}/batch")


@pages.post("/{lang}/agencies/{agency_id}/mandates/{mandate_id}/certificates/batch", dependencies=[Csrf])
def agency_batch_start(lang: PageLang, agency_id: Id, mandate_id: Id, session: DbSession, user: PageUser):
    """Issue a certificate to every employee who passed the mandatory course and has none yet."""
    agency, mandate = _mandate(session, user, agency_id, mandate_id)
    batch = service.start_batch(session, service.BatchKind.agency, mandate.id, user)
    return RedirectResponse(f"/{lang}/agencies/{agency.id}/mandates/{mandate.id}/certificates/batches/{batch.id}",
                            status_code=303)


@pages.get("/{lang}/agencies/{agency_id}/mandates/{mandate_id}/certificates/batches/{batch_id}")
def agency_batch_page(request: Request, lang: PageLang, agency_id: Id, mandate_id: Id, batch_id: Id,
                      session: DbSession, user: PageUser):
    agency, mandate = _mandate(session, user, agency_id, mandate_id)
    batch = service.batch_of(session, batch_id, service.BatchKind.agency, mandate.id)
    base = f"/{lang}/agencies/{agency.id}/mandates/{mandate.id}/certificates"
    return _batch_page(request, lang, session, batch, agency.title(lang), (base, agency.title(lang)),
                       f"{base}/batches/{batch.id}", f"{base}.zip", f"{base}/batch")


def _stage_batch(session, user, batch_id: int):
    from gennation.platform.accounts.models import Role
    from gennation.platform.errors import Forbidden
    if user.role not in (Role.admin, Role.organiser):
        raise Forbidden
    return service.batch_of(session, batch_id, service.BatchKind.stage)


def _stage_title(batch, lang: str) -> str:
    titles = batch.params.get("season_title", {}), batch.params.get("stage_title", {})
    text = content_language(lang)
    return " · ".join(t.get(text, "") for t in titles if t.get(text)) or f"#{batch.target}"


@pages.get("/{lang}/admin/certificates/batches/{batch_id}.zip")
def stage_batch_zip(request: Request, lang: PageLang, batch_id: Id, session: DbSession, user: PageUser):
    batch = _stage_batch(session, user, batch_id)
    return _zip(request, session, service.certificates_of_batch(session, batch), f"stage-{batch.target}-diplomas.zip")


@pages.get("/{lang}/admin/certificates/batches/{batch_id}")
def stage_batch_page(request: Request, lang: PageLang, batch_id: Id, session: DbSession, user: PageUser):
    """A tournament stage's diplomas being issued (admins and organisers), and their ZIP when done."""
    batch = _stage_batch(session, user, batch_id)
    base = f"/{lang}/admin/certificates/batches/{batch.id}"
    return _batch_page(request, lang, session, batch, _stage_title(batch, lang), (f"/{lang}/", gettext(lang, "Generative Nation")),
                       base, f"{base}.zip", f"{base}/resume")


@pages.post("/{lang}/admin/certificates/batches/{batch_id}/resume", dependencies=[Csrf])
def stage_batch_resume(lang: PageLang, batch_id: Id, session: DbSession, user: PageUser):
    batch = service.resume_batch(session, _stage_batch(session, user, batch_id), user)
    return RedirectResponse(f"/{lang}/admin/certificates/batches/{batch.id}", status_code=303)


# ---------------------------------------------------------------- Open Badges (badge.py)
from gennation.certificates import badge, signing, status_list  # noqa: E402  (this section's own imports)


class VerifiableCredentialResponse(JSONResponse):
    media_type = "application/vc+ld+json"


_VC_CONTENT = {"content": {"application/vc+ld+json": {"schema": {"type": "object"}}}}


@api.get("/certificates/status-list", response_class=VerifiableCredentialResponse,
         responses={200: {"description": "BitstringStatusListCredential", **_VC_CONTENT}})
def api_status_list(request: Request, session: DbSession):
    """Public: the signed W3C Bitstring Status List of revocations; bit N set means certificate N is revoked
    (every badge's `credentialStatus.statusListIndex` names its bit)."""
    document = badge.status_list_credential(status_list.revoked_ids(session), _base_url(request),
                                            signing.signer(request.app.state.settings.var_dir))
    return VerifiableCredentialResponse(document, headers={"Cache-Control": "public, max-age=60"})


@api.get("/certificates/{reference}/badge", response_class=VerifiableCredentialResponse,
         responses={200: {"description": "OpenBadgeCredential (Open Badges 3.0)", **_VC_CONTENT},
                    404: {"model": VerificationOut, "description": "No such certificate: `status` is `unknown`"},
                    410: {"model": VerificationOut, "description": "Withdrawn with its holder's account"}})
def api_badge(request: Request, reference: str, session: DbSession):
    """Public: the certificate as an Open Badges 3.0 `OpenBadgeCredential`, signed (Data Integrity,
    `eddsa-rdfc-2022`) by the platform's `did:key`. A revoked one is still served; the status list says so."""
    certificate = service.find(session, reference)
    if certificate is None:
        result = verification(session, None, _base_url(request), reference)
        return JSONResponse(result.model_dump(mode="json", exclude_none=True),
                            status_code=410 if result.withdrawn else 404)
    document = badge.signed_badge(certificate, _base_url(request), signing.signer(request.app.state.settings.var_dir))
    return VerifiableCredentialResponse(document, headers={
        "Content-Disposition": f'inline; filename="badge-{certificate.code}.json"'})


@api.get("/issuer", response_class=JSONResponse, responses={200: {"content": {"application/ld+json": {
    "schema": {"type": "object"}}}}})
def api_issuer(request: Request, lang: ApiLang):
    """Public: the issuer profile of every badge; its `id` is the `did:key` whose key signs them."""
    document = badge.issuer_profile_document(service.ISSUER, lang, _base_url(request),
                                             signing.signer(request.app.state.settings.var_dir))
    return JSONResponse(document, media_type="application/ld+json", headers={"Cache-Control": "public, max-age=3600"})
