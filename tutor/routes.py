"""The tutor on lesson and quiz pages (streamed with server-sent events, or a plain form post without
JavaScript) and `POST /api/v1/tutor/ask` for API clients."""
from __future__ import annotations

import contextlib
import json
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlmodel import Session, select

from gennation.courses.models import Course, Lesson, Module
from gennation.frontend.rendering import is_htmx, render, render_fragment
from gennation.platform.accounts.models import Role
from gennation.platform.deps import ApiUser, Csrf, DbSession, PageLang, PageUser, current_user, require_role
from gennation.platform.i18n import gettext
from gennation.tutor import service
from gennation.tutor.schemas import AskIn, AskOut, RatingIn

pages = APIRouter(include_in_schema=False, dependencies=[Depends(current_user)])
api = APIRouter(prefix="/api/v1/tutor", tags=["tutor"])


def runtime_of(request: Request) -> service.TutorRuntime:
    return request.app.state.tutor


def _resolve_lesson(session: Session, course: str | None, lesson: str | None) -> tuple[str | None, str | None]:
    """`lesson` may be "course/lesson" or a lesson id that only one course has."""
    if lesson and "/" in lesson:
        course, lesson = lesson.split("/", 1)
    if lesson and not course:
        courses = session.exec(select(Course.slug).join(Module).join(Lesson).where(
            Lesson.slug == lesson, Lesson.retired == False)).all()  # noqa: E712
        if len(set(courses)) != 1:
            raise HTTPException(422, detail=[{"loc": ["body", "lesson"], "type": "value_error",
                                              "msg": "unknown or ambiguous lesson; use 'course/lesson'"}])
        course = courses[0]
    return course, lesson


# ---------------------------------------------------------------- JSON API

@api.post("/ask", response_model=AskOut)
async def api_ask(request: Request, data: AskIn, session: DbSession, user: ApiUser):
    """Ask the tutor; the answer comes whole, with its sources. Always AI-generated: it may be wrong."""
    course, lesson = _resolve_lesson(session, data.course, data.lesson)
    question = service.Question(data.question, data.lang, user, course, lesson, data.quiz)
    try:
        answer = await service.ask(session, runtime_of(request), question)
    except service.TutorError as error:
        raise HTTPException(error.status, gettext(data.lang, error.message)) from None
    return AskOut(answer=answer.text, lang=answer.lang, kind=answer.kind.value, sources=answer.sources,
                  conversation_id=answer.conversation_id, message_id=answer.message_id,
                  personal_data_warning=answer.personal_data)


@api.post("/messages/{message_id}/rating", status_code=204)
def api_rate(message_id: int, data: RatingIn, session: DbSession, user: ApiUser):
    try:
        service.rate(session, user, message_id, data.helpful, data.comment)
    except LookupError:
        raise HTTPException(404) from None


# ---------------------------------------------------------------- pages

def _question_from_form(user, lang: str, question: str, course: str, lesson: str, quiz: str) -> service.Question:
    return service.Question(question, lang, user, course or None, lesson or None, quiz or None)


@pages.post("/{lang}/tutor/ask", dependencies=[Csrf])
async def ask_page(request: Request, lang: PageLang, session: DbSession, user: PageUser,
                   question: Annotated[str, Form()] = "", course: Annotated[str, Form()] = "",
                   lesson: Annotated[str, Form()] = "", quiz: Annotated[str, Form()] = ""):
    """With htmx: keep the question and answer it on the stream below. Without: answer here, whole."""
    asked = _question_from_form(user, lang, question, course, lesson, quiz)
    runtime = runtime_of(request)
    try:
        if is_htmx(request):
            message = service.submit(session, runtime, asked)
            return render(request, "tutor/_exchange.html", {"question": message, "lang": lang}, lang=lang)
        answer = await service.ask(session, runtime, asked)
    except service.TutorError as error:
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
async def stream_page(request: Request, lang: PageLang, message_id: int, session: DbSession, user: PageUser):
    """Server-sent events for one question: queue position, text as it is written, the final answer.
    A closed tab ends the stream, and with it the generation."""
    runtime = runtime_of(request)
    try:
        service.pending_question(session, user, message_id)
    except LookupError:
        raise HTTPException(404) from None

    async def events():
        try:
            async with contextlib.aclosing(service.answer(session, runtime, user, message_id)) as answers:
                async for event in answers:
                    if event["type"] == "position":
                        text = gettext(lang, "Your question is number %(position)s in the queue.",
                                       position=event["position"])
                        yield _sse("position", escape(text))
                    elif event["type"] == "text":
                        yield _sse("token", escape(event["text"]))
                    elif event["type"] == "reset":
                        yield _sse("reset", "")
                    elif event["type"] == "final":
                        html = render_fragment(request, "tutor/_answer.html", {"answer": event["answer"]}, lang=lang)
                        yield _sse("final", html)
        except service.TutorError as error:
            yield _sse("final", f'<p class="error" role="alert">{escape(gettext(lang, error.message))}</p>')

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@pages.post("/{lang}/tutor/messages/{message_id}/rating", dependencies=[Csrf])
def rate_page(request: Request, lang: PageLang, message_id: int, session: DbSession, user: PageUser,
              helpful: Annotated[str, Form()] = "", comment: Annotated[str, Form()] = ""):
    try:
        service.rate(session, user, message_id, helpful == "yes", comment)
    except LookupError:
        raise HTTPException(404) from None
    return render(request, "tutor/rated.html", {"message_id": message_id}, lang=lang,
                  fragment="tutor/_rated.html")


@pages.get("/{lang}/tutor")
def panel_page(request: Request, lang: PageLang, session: DbSession, course: str = "", lesson: str = "",
               quiz: str = ""):
    """The tutor panel: loaded into lesson and quiz pages by htmx, or a page of its own without JavaScript."""
    user = request.state.user
    history = service.exchanges(session, user, course or None, lesson or None, quiz or None) if user else []
    return render(request, "tutor/page.html", {
        "course": course, "lesson": lesson, "quiz": quiz, "history": history,
        "available": runtime_of(request).available,
    }, lang=lang, fragment="tutor/_panel.html")


@pages.get("/{lang}/classes/{classroom_id}/tutor")
def class_tutor_page(request: Request, lang: PageLang, classroom_id: int, session: DbSession, user: PageUser):
    """A teacher reads the tutor conversations of their class and corrects wrong answers."""
    from gennation.platform.institutions.service import taught_class
    try:
        classroom = taught_class(session, user, classroom_id)
    except LookupError:
        raise HTTPException(404) from None
    return render(request, "tutor/class.html", {"classroom": classroom,
                                                "exchanges": service.class_exchanges(session, classroom.id)},
                  lang=lang)


@pages.post("/{lang}/tutor/messages/{message_id}/correction", dependencies=[Csrf])
def correct_page(request: Request, lang: PageLang, message_id: int, session: DbSession, user: PageUser,
                 correction: Annotated[str, Form()] = "", back: Annotated[str, Form()] = ""):
    try:
        service.correct(session, user, message_id, correction)
    except LookupError:
        raise HTTPException(404) from None
    except service.TutorError as error:
        return render(request, "tutor/answer.html", {"error": gettext(lang, error.message)}, lang=lang,
                      fragment="tutor/_error.html", status_code=error.status)
    if is_htmx(request):
        return render(request, "tutor/_corrected.html", {"correction": correction.strip()}, lang=lang)
    return RedirectResponse(back if back.startswith(f"/{lang}/") else f"/{lang}/", status_code=303)


@pages.get("/{lang}/admin/tutor", dependencies=[Depends(require_role(Role.admin))])
def oversight_page(request: Request, lang: PageLang, session: DbSession):
    """For admins: ratings of the tutor's answers and the lessons flagged most."""
    return render(request, "tutor/oversight.html", {"summary": service.oversight(session)}, lang=lang)
