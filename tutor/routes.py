"""The tutor on lesson and quiz pages (streamed with server-sent events, or a plain form post without
JavaScript) and `POST /api/v1/tutor/ask` for API clients.

The routes that wait for the model are `async` and take no database session: their short database
steps run through `db.run` (see `service.answer`). The rest are plain `def` with the request's unit of work.
"""
from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, StreamingResponse

from gennation.frontend.rendering import is_htmx, render, render_fragment
from gennation.platform.accounts.models import Role
from gennation.platform.database import Database
from gennation.platform.deps import (
    ApiUser, Csrf, DbSession, Id, PageLang, PageUser, UnitOfWorkRoute, PagePerson, require_role,
)
from gennation.platform.errors import DomainError
from gennation.platform.i18n import gettext
from gennation.tutor import service
from gennation.tutor.schemas import AskIn, AskOut, RatingIn

pages = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[PagePerson])
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/tutor", tags=["tutor"])


def runtime_of(request: Request) -> service.TutorRuntime:
    return request.app.state.tutor


def db_of(request: Request) -> Database:
    return request.app.state.db


# ---------------------------------------------------------------- JSON API

@api.post("/ask", response_model=AskOut, responses={422: {"description": "A bad question or lesson"},
                                                    429: {"description": "Too many questions"},
                                                    503: {"description": "The tutor is not available"}})
async def api_ask(request: Request, data: AskIn, user: ApiUser):
    """Ask the tutor; the answer comes whole, with its sources. Always AI-generated: it may be wrong."""
    question = service.Question(data.question, data.lang, user.id, data.course, data.lesson, data.quiz)
    answer = await service.ask(db_of(request), runtime_of(request), question)
    return AskOut(answer=answer.text, lang=answer.lang, kind=answer.kind.value, sources=answer.sources,
                  conversation_id=answer.conversation_id, message_id=answer.message_id,
                  personal_data_warning=answer.personal_data)


@api.post("/messages/{message_id}/rating", status_code=204, responses={404: {"description": "No such answer"}})
def api_rate(message_id: Id, data: RatingIn, session: DbSession, user: ApiUser):
    service.rate(session, user, message_id, data.helpful, data.comment)


# ---------------------------------------------------------------- pages

@pages.post("/{lang}/tutor/ask", dependencies=[Csrf])
async def ask_page(request: Request, lang: PageLang, user: PageUser,
                   question: Annotated[str, Form()] = "", course: Annotated[str, Form()] = "",
                   lesson: Annotated[str, Form()] = "", quiz: Annotated[str, Form()] = ""):
    """With htmx: keep the question and answer it on the stream below. Without: answer here, whole."""
    asked = service.Question(question, lang, user.id, course or None, lesson or None, quiz or None)
    db, runtime = db_of(request), runtime_of(request)
    try:
        if is_htmx(request):
            message = await db.run(service.submit, runtime, asked)
            return render(request, "tutor/_exchange.html", {"question": message, "lang": lang}, lang=lang)
        answer = await service.ask(db, runtime, asked)
    except DomainError as error:  # the question comes back in the form, with the reason
        context = {"error": gettext(lang, error.message), "kept_question": question, "course": course,
                   "lesson": lesson, "quiz": quiz}
        return render(request, "tutor/answer.html", context, lang=lang, fragment="tutor/_error.html",
                      status_code=error.status)
    return render(request, "tutor/answer.html", {"question_text": question, "answer": answer, "course": course,
                                                 "lesson": lesson, "quiz": quiz, "error": None}, lang=lang)


def _sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n"


@pages.get("/{lang}/tutor/stream/{message_id}")
async def stream_page(request: Request, lang: PageLang, message_id: Id, user: PageUser):
    """Server-sent events for one question: what the lesson says (at once), queue position, the simpler
    wording as it is written and checked, the final answer.
    A closed tab ends the stream, and with it the generation."""
    db, runtime = db_of(request), runtime_of(request)
    await db.run(service.pending_question, user.id, message_id)  # NotFound before the stream starts

    async def events():
        try:
            async for event in service.answer(db, runtime, user.id, message_id):
                if event["type"] == "position":
                    text = gettext(lang, "Your question is number %(position)s in the queue.",
                                   position=event["position"])
                    yield _sse("position", escape(text))
                elif event["type"] == "passage":  # the lesson's own words, at once
                    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in event["text"].split("\n\n"))
                    yield _sse("passage", paragraphs)
                elif event["type"] == "text":
                    yield _sse("token", escape(event["text"]))
                elif event["type"] == "reset":
                    yield _sse("reset", "")
                elif event["type"] == "final":
                    html = render_fragment(request, "tutor/_answer.html", {"answer": event["answer"]}, lang=lang)
                    yield _sse("final", html)
        except DomainError as error:
            yield _sse("final", f'<p class="error" role="alert">{escape(gettext(lang, error.message))}</p>')

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@pages.post("/{lang}/tutor/messages/{message_id}/rating", dependencies=[Csrf])
def rate_page(request: Request, lang: PageLang, message_id: Id, session: DbSession, user: PageUser,
              helpful: Annotated[str, Form()] = "", comment: Annotated[str, Form()] = ""):
    service.rate(session, user, message_id, helpful == "yes", comment)
    return render(request, "tutor/rated.html", {"message_id": message_id}, lang=lang,
                  fragment="tutor/_rated.html")


@pages.get("/{lang}/tutor")
def panel_page(request: Request, lang: PageLang, session: DbSession, course: str = "", lesson: str = "",
               quiz: str = ""):
    """The tutor panel: loaded into lesson and quiz pages by htmx, or a page of its own without JavaScript."""
    user = request.state.user
    available = runtime_of(request).available
    history = service.exchanges(session, user, course or None, lesson or None, quiz or None) if user else []
    return render(request, "tutor/page.html", {
        "course": course, "lesson": lesson, "quiz": quiz, "history": history, "available": available,
    }, lang=lang, fragment="tutor/_panel.html", public=f"tutor-panel-{available}" if user is None else None)


@pages.get("/{lang}/classes/{classroom_id}/tutor")
def class_tutor_page(request: Request, lang: PageLang, classroom_id: Id, session: DbSession, user: PageUser):
    """A confirmed teacher reads the tutor conversations of their class and corrects wrong answers."""
    from gennation.platform.institutions.service import class_with_learner_data
    classroom = class_with_learner_data(session, user, classroom_id)
    return render(request, "tutor/class.html", {"classroom": classroom,
                                                "exchanges": service.class_exchanges(session, classroom.id)},
                  lang=lang)


@pages.post("/{lang}/tutor/messages/{message_id}/correction", dependencies=[Csrf])
def correct_page(request: Request, lang: PageLang, message_id: Id, session: DbSession, user: PageUser,
                 correction: Annotated[str, Form()] = "", back: Annotated[str, Form()] = ""):
    try:
        service.correct(session, user, message_id, correction)
    except service.InvalidField as error:
        return render(request, "tutor/answer.html", {"error": gettext(lang, error.message)}, lang=lang,
                      fragment="tutor/_error.html", status_code=error.status)
    if is_htmx(request):
        return render(request, "tutor/_corrected.html", {"correction": correction.strip()}, lang=lang)
    return RedirectResponse(back if back.startswith(f"/{lang}/") else f"/{lang}/", status_code=303)


@pages.get("/{lang}/admin/tutor", dependencies=[Depends(require_role(Role.admin))])
def oversight_page(request: Request, lang: PageLang, session: DbSession):
    """For admins: ratings of the tutor's answers and the lessons flagged most."""
    return render(request, "tutor/oversight.html", {"summary": service.oversight(session)}, lang=lang)
