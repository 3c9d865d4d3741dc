"""Catalogue, course, lesson, quiz and glossary pages, and the course JSON API. Thin: parse, call, render.

Routes are plain `def`: FastAPI runs them in its thread pool, with the request's unit of work.
A visitor who is not signed in gets public pages (no cookie, an ETag, cacheable by a proxy).
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.datastructures import FormData

from gennation.courses import service
from gennation.courses.models import QuestionKind
from gennation.courses.outline import CourseOutline, QuizOutline
from gennation.courses.schemas import (
    AnswersIn, AttemptOut, CourseDetailOut, CourseOut, FeedbackOut, GradedOut, LessonOut, LessonRef, ModuleOut,
    ProgressOut, QuestionOut,
)
from gennation.courses.source import glossary_terms
from gennation.frontend.rendering import is_htmx, render
from gennation.platform.deps import (
    ApiLang, ApiUser, Csrf, CurrentUser, DbSession, Id, PageLang, PageUser, SubmittedForm, UnitOfWorkRoute,
    PagePerson,
)
from gennation.platform.errors import NotFound
from gennation.platform.i18n import content_language, gettext

pages = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[PagePerson])
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["courses"])


def _public(catalogue: service.Catalogue, user) -> str | None:
    """The content tag of a page anyone may cache: for visitors who are not signed in."""
    return catalogue.tag if user is None else None


# ---------------------------------------------------------------- pages

@pages.get("/{lang}/courses")
def catalogue_page(request: Request, lang: PageLang, session: DbSession, user: CurrentUser):
    cards = service.catalogue_cards(session, user, content_language(lang))
    return render(request, "courses/catalogue.html", {"courses": cards}, lang=lang,
                  public=_public(service.catalogue(session), user))


@pages.get("/{lang}/courses/{slug}")
def course_page(request: Request, lang: PageLang, slug: str, session: DbSession, user: CurrentUser):
    course = service.get_course(session, slug)
    return render(request, "courses/course.html", {
        "course": course, "progress": service.course_progress(session, course, user), "counts": course.counts,
        "clang": content_language(lang),
    }, lang=lang, public=_public(service.catalogue(session), user))


@pages.post("/{lang}/courses/{slug}/enroll", dependencies=[Csrf])
def enroll_page(lang: PageLang, slug: str, session: DbSession, user: PageUser):
    course = service.get_course(session, slug)
    state = service.learner_state(session, user)
    service.enroll(session, user, course, state)
    resume = service.progress_of(course, state).resume
    target = f"/{lang}/courses/{slug}/lessons/{resume.slug}" if resume else f"/{lang}/courses/{slug}"
    return RedirectResponse(target, status_code=303)


@pages.get("/{lang}/courses/{slug}/lessons/{lesson_slug}")
def lesson_page(request: Request, lang: PageLang, slug: str, lesson_slug: str, session: DbSession,
                user: CurrentUser):
    course = service.get_course(session, slug)
    lesson = course.lesson(lesson_slug)
    state = service.learner_state(session, user)
    if user:
        service.note_lesson_opened(session, user, course, lesson, state)
    progress = service.progress_of(course, state)
    return render(request, "courses/lesson.html", {
        "course": course, "lesson": lesson, "clang": content_language(lang), "progress": progress,
        "place": service.lesson_place(progress, lesson),
    }, lang=lang, public=_public(service.catalogue(session), user))


@pages.post("/{lang}/courses/{slug}/lessons/{lesson_slug}/read", dependencies=[Csrf])
def lesson_read(request: Request, lang: PageLang, slug: str, lesson_slug: str, session: DbSession,
                user: PageUser):
    course = service.get_course(session, slug)
    lesson = course.lesson(lesson_slug)
    progress = service.mark_lesson_read(session, user, course, lesson)
    place = service.lesson_place(progress, lesson)
    if not is_htmx(request):
        if place.quiz_after:
            return RedirectResponse(f"/{lang}/courses/{slug}/quizzes/{place.quiz_after.slug}", status_code=303)
        target = f"lessons/{place.next.slug}" if place.next else ""
        return RedirectResponse(f"/{lang}/courses/{slug}/{target}".rstrip("/"), status_code=303)
    return render(request, "courses/_lesson_status.html", {
        "course": course, "lesson": lesson, "progress": progress, "place": place, "clang": content_language(lang),
    }, lang=lang)


def _limits(request: Request) -> service.ExamLimits:
    return service.ExamLimits.of(request.app.state.settings)


def _quiz_context(course: CourseOutline, quiz: QuizOutline, attempt, questions, lang: str, given=None,
                  errors=None) -> dict:
    clang = content_language(lang)
    graded = service.graded(course, quiz, questions, attempt, clang) if attempt.graded_at else None
    return {
        "course": course, "quiz": quiz, "attempt": attempt, "clang": clang, "module": course.module(quiz.module_id),
        "questions": [service.question_view(q, clang, attempt) for q in questions],
        "feedback": graded.feedback if graded else [], "review": graded.review if graded else [],
        "given": given or {}, "errors": errors or {},
    }


@pages.get("/{lang}/courses/{slug}/quizzes/{quiz_slug}")
def quiz_page(request: Request, lang: PageLang, slug: str, quiz_slug: str, session: DbSession, user: PageUser):
    course = service.get_course(session, slug)
    quiz = course.quiz(quiz_slug)
    attempt = service.open_attempt(session, user, quiz, _limits(request))
    questions = service.attempt_questions(session, attempt)
    return render(request, "courses/quiz.html", _quiz_context(course, quiz, attempt, questions, lang), lang=lang)


def _order_from_positions(positions: dict[str, str]) -> list[str] | str:
    """{item: "2", ...} to items in order; "" when nothing was chosen, a marker list when positions clash."""
    if not any(positions.values()):
        return ""
    if sorted(positions.values()) != [str(n) for n in range(1, len(positions) + 1)]:
        return ["?"]  # rejected by the service with "put every item in a different place"
    return sorted(positions, key=lambda item: int(positions[item]))


def answers_from_form(form: FormData, questions, attempt) -> tuple[dict, dict]:
    """Form fields to API-shaped answers, plus the raw values to fill the form in again."""
    answers, given = {}, {}
    for question in questions:
        name = f"q-{question.slug}"
        if question.kind == QuestionKind.multiple:
            values = [str(v) for v in form.getlist(name)]
            answers[question.slug], given[question.slug] = values, values
        elif question.kind == QuestionKind.ordering:
            positions = {token: str(form.get(f"{name}-{token}", "")) for token, _ in service.shown(attempt, question)}
            given[question.slug] = positions
            answers[question.slug] = _order_from_positions(positions)
        else:
            value = str(form.get(name, "")).strip()
            answers[question.slug], given[question.slug] = value, value
    return answers, given


@pages.post("/{lang}/courses/{slug}/quizzes/{quiz_slug}", dependencies=[Csrf])
def quiz_submit(request: Request, lang: PageLang, slug: str, quiz_slug: str, session: DbSession, user: PageUser,
                form: SubmittedForm):
    course = service.get_course(session, slug)
    quiz = course.quiz(quiz_slug)
    attempt = service.open_attempt(session, user, quiz, _limits(request))
    questions = service.attempt_questions(session, attempt)
    if str(form.get("attempt_id", "")) != str(attempt.id):
        # The questions changed under the learner (another tab graded this attempt): show the new set.
        context = _quiz_context(course, quiz, attempt, questions, lang)
        context["notice"] = gettext(lang, "This quiz was opened again in another tab. Here is a fresh attempt.")
        return render(request, "courses/quiz.html", context, lang=lang, fragment="courses/_quiz.html", status_code=409)
    answers, given = answers_from_form(form, questions, attempt)
    errors = service.check_answers(questions, answers, attempt)
    if errors:
        errors = {qid: gettext(lang, message) for qid, message in errors.items()}
        context = _quiz_context(course, quiz, attempt, questions, lang, given, errors)
        return render(request, "courses/quiz.html", context, lang=lang, fragment="courses/_quiz.html", status_code=422)
    service.grade_attempt(session, user, attempt, answers, questions)
    context = _quiz_context(course, quiz, attempt, questions, lang)
    context["progress"] = service.course_progress(session, course, user)
    refusal = service.exam_refusal(session, user.id, quiz, _limits(request))
    context["refusal"] = gettext(lang, refusal.message, **refusal.values) if refusal else None
    return render(request, "courses/quiz.html", context, lang=lang, fragment="courses/_quiz.html")


@pages.get("/{lang}/glossary")
def glossary_page(request: Request, lang: PageLang, user: CurrentUser):
    clang = content_language(lang)
    terms = glossary_terms(request.app.state.settings.content_dir, clang)
    return render(request, "courses/glossary.html", {"terms": terms, "clang": clang}, lang=lang,
                  public="glossary" if user is None else None)


@pages.get("/content/{slug}/images/{name}")
def content_image(request: Request, slug: str, name: str):
    folder = (request.app.state.settings.content_dir / slug / "images").resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file() or path.suffix not in (".svg", ".png", ".jpg", ".webp"):
        raise NotFound
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


# ---------------------------------------------------------------- JSON API

def course_detail_out(progress: service.CourseProgress, clang: str) -> CourseDetailOut:
    """The API's course detail: the card, and every module with its lessons and the learner's state."""
    course = progress.course
    card = service.course_card(course, clang, progress)
    modules = [ModuleOut(
        slug=m.module.slug, title=m.module.title.get(clang, ""), summary=m.module.summary.get(clang, ""),
        lessons=[LessonRef(slug=l.slug, title=l.title.get(clang, ""), read=read,
                           url=f"/api/v1/courses/{course.slug}/lessons/{l.slug}") for l, read in m.lessons],
        quiz=m.quiz.slug if m.quiz else None, quiz_passed=m.quiz_passed, completed=m.completed,
    ) for m in progress.modules]
    return CourseDetailOut(**CourseOut.model_validate(card).model_dump(), enrolled=progress.enrolled,
                           completed=progress.completed_at is not None, modules=modules,
                           final_exam=progress.final_exam.slug if progress.final_exam else None)


def progress_out(progress: service.CourseProgress) -> ProgressOut:
    return ProgressOut(course=progress.course.slug, percent=progress.percent,
                       completed=progress.completed_at is not None,
                       resume_lesson=progress.resume.slug if progress.resume else None)


@api.get("/courses", response_model=list[CourseOut])
def api_courses(session: DbSession, user: CurrentUser, lang: ApiLang):
    """Every course with its counts, in `lang` (kk or ru; en reads the Russian texts)."""
    return [CourseOut.model_validate(card) for card in service.catalogue_cards(session, user, content_language(lang))]


@api.get("/courses/{slug}", response_model=CourseDetailOut, responses={404: {"description": "No such course"}})
def api_course(slug: str, session: DbSession, user: CurrentUser, lang: ApiLang):
    course = service.get_course(session, slug)
    return course_detail_out(service.course_progress(session, course, user), content_language(lang))


@api.get("/courses/{slug}/lessons/{lesson_slug}", response_model=LessonOut)
def api_lesson(slug: str, lesson_slug: str, session: DbSession, user: CurrentUser, lang: ApiLang):
    course = service.get_course(session, slug)
    lesson = course.lesson(lesson_slug)
    clang = content_language(lang)
    place = service.lesson_place(service.course_progress(session, course, user), lesson)
    return LessonOut(course=slug, slug=lesson.slug, title=lesson.title.get(clang, ""),
                     html=lesson.body_html.get(clang, ""), read=place.read)


@api.post("/courses/{slug}/lessons/{lesson_slug}/read", response_model=ProgressOut)
def api_lesson_read(slug: str, lesson_slug: str, session: DbSession, user: ApiUser):
    course = service.get_course(session, slug)
    return progress_out(service.mark_lesson_read(session, user, course, course.lesson(lesson_slug)))


@api.post("/courses/{slug}/enroll", response_model=ProgressOut)
def api_enroll(slug: str, session: DbSession, user: ApiUser):
    course = service.get_course(session, slug)
    state = service.learner_state(session, user)
    service.enroll(session, user, course, state)
    return progress_out(service.progress_of(course, state))


@api.post("/courses/{slug}/quizzes/{quiz_slug}/attempts", response_model=AttemptOut,
          responses={429: {"description": "A final exam: the pause after an attempt, or today's attempts used up"}})
def api_start_attempt(request: Request, slug: str, quiz_slug: str, session: DbSession, user: ApiUser, lang: ApiLang):
    """Open (or resume) an attempt: the questions to answer, without their keys, choices shuffled and named
    by tokens of this attempt."""
    quiz = service.get_course(session, slug).quiz(quiz_slug)
    attempt = service.open_attempt(session, user, quiz, _limits(request))
    clang = content_language(lang)
    questions = [QuestionOut.model_validate(service.question_view(q, clang, attempt))
                 for q in service.attempt_questions(session, attempt)]
    return AttemptOut(attempt_id=attempt.id, quiz=quiz.slug, questions=questions)


@api.post("/attempts/{attempt_id}", response_model=GradedOut)
def api_submit_attempt(request: Request, attempt_id: Id, data: AnswersIn, session: DbSession, user: ApiUser,
                       lang: ApiLang):
    """Grade an attempt on the server; 422 names the first malformed answer. A final exam not passed
    answers with the score and the topics to review only."""
    attempt = service.attempt_of(session, user, attempt_id)
    questions = service.attempt_questions(session, attempt)
    try:
        service.grade_attempt(session, user, attempt, data.answers, questions)
    except service.AnswerError as error:
        raise service.AnswerError(f"answers.{error.field}", error.message) from None
    course = service.catalogue(session).course_of_quiz(attempt.quiz_id)
    quiz = course.quiz_with_id(attempt.quiz_id)
    graded = service.graded(course, quiz, questions, attempt, content_language(lang))
    refusal = service.exam_refusal(session, user.id, quiz, _limits(request))
    return GradedOut(attempt_id=attempt.id, score=attempt.score, passed=attempt.passed, pass_mark=quiz.pass_mark,
                     feedback=[FeedbackOut.model_validate(f) for f in graded.feedback], review=graded.review,
                     next_attempt_in=refusal.retry_after if refusal else None)


@api.get("/me/progress", response_model=list[ProgressOut])
def api_my_progress(session: DbSession, user: ApiUser):
    state = service.learner_state(session, user)
    return [progress_out(service.progress_of(course, state))
            for course in service.catalogue(session).courses if course.id in state.enrollments]
