"""Catalogue, course, lesson, quiz and glossary pages, and the course JSON API. Thin: parse, call, render."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.datastructures import FormData

from gennation.courses import service
from gennation.courses.models import Course, QuestionKind, Quiz
from gennation.courses.schemas import (
    AnswersIn, AttemptOut, CourseCountsOut, CourseDetailOut, CourseOut, FeedbackOut, GradedOut, LessonOut,
    LessonRef, ModuleOut, ProgressOut, QuestionOut,
)
from gennation.courses.source import read_glossary
from gennation.frontend.rendering import is_htmx, render
from gennation.platform.deps import ApiLang, ApiUser, Csrf, CurrentUser, DbSession, PageLang, PageUser, current_user
from gennation.platform.i18n import content_language, gettext

pages = APIRouter(include_in_schema=False, dependencies=[Depends(current_user)])
api = APIRouter(prefix="/api/v1", tags=["courses"])


def _course(session, slug: str) -> Course:
    course = service.get_course(session, slug)
    if course is None:
        raise HTTPException(status_code=404)
    return course


def _lesson(session, course: Course, slug: str):
    lesson = service.get_lesson(session, course, slug)
    if lesson is None:
        raise HTTPException(status_code=404)
    return lesson


def _quiz(session, course: Course, slug: str) -> Quiz:
    quiz = service.get_quiz(session, course, slug)
    if quiz is None:
        raise HTTPException(status_code=404)
    return quiz


# ---------------------------------------------------------------- pages

@pages.get("/{lang}/courses")
def catalogue_page(request: Request, lang: PageLang, session: DbSession, user: CurrentUser):
    return render(request, "courses/catalogue.html",
                  {"courses": service.catalogue(session, user, content_language(lang))}, lang=lang)


@pages.get("/{lang}/courses/{slug}")
def course_page(request: Request, lang: PageLang, slug: str, session: DbSession, user: CurrentUser):
    course = _course(session, slug)
    return render(request, "courses/course.html", {
        "course": course, "progress": service.course_progress(session, course, user),
        "counts": service.course_counts(session, course), "clang": content_language(lang),
    }, lang=lang)


@pages.post("/{lang}/courses/{slug}/enroll", dependencies=[Csrf])
def enroll_page(lang: PageLang, slug: str, session: DbSession, user: PageUser):
    course = _course(session, slug)
    service.enroll(session, user, course)
    resume = service.course_progress(session, course, user).resume
    target = f"/{lang}/courses/{slug}/lessons/{resume.slug}" if resume else f"/{lang}/courses/{slug}"
    return RedirectResponse(target, status_code=303)


@pages.get("/{lang}/courses/{slug}/lessons/{lesson_slug}")
def lesson_page(request: Request, lang: PageLang, slug: str, lesson_slug: str, session: DbSession,
                user: CurrentUser):
    course = _course(session, slug)
    lesson = _lesson(session, course, lesson_slug)
    if user:
        service.note_lesson_opened(session, user, course, lesson)
    progress = service.course_progress(session, course, user)
    return render(request, "courses/lesson.html", {
        "course": course, "lesson": lesson, "clang": content_language(lang), "progress": progress,
        "place": service.lesson_place(progress, lesson),
    }, lang=lang)


@pages.post("/{lang}/courses/{slug}/lessons/{lesson_slug}/read", dependencies=[Csrf])
def lesson_read(request: Request, lang: PageLang, slug: str, lesson_slug: str, session: DbSession,
                user: PageUser):
    course = _course(session, slug)
    lesson = _lesson(session, course, lesson_slug)
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


def _quiz_context(session, course: Course, quiz: Quiz, attempt, lang: str, given=None, errors=None) -> dict:
    clang = content_language(lang)
    graded = attempt.graded_at is not None
    return {
        "course": course, "quiz": quiz, "attempt": attempt, "clang": clang,
        "module": next((m for m in service.modules_of(session, course) if m.id == quiz.module_id), None),
        "questions": [service.question_view(q, clang, attempt.id) for q in service.attempt_questions(session, attempt)],
        "feedback": service.attempt_feedback(session, attempt, clang) if graded else [],
        "given": given or {}, "errors": errors or {},
    }


@pages.get("/{lang}/courses/{slug}/quizzes/{quiz_slug}")
def quiz_page(request: Request, lang: PageLang, slug: str, quiz_slug: str, session: DbSession, user: PageUser):
    course = _course(session, slug)
    quiz = _quiz(session, course, quiz_slug)
    attempt = service.open_attempt(session, user, quiz)
    return render(request, "courses/quiz.html", _quiz_context(session, course, quiz, attempt, lang), lang=lang)


def _order_from_positions(positions: dict[str, str]) -> list[str] | str:
    """{item: "2", ...} to items in order; "" when nothing was chosen, a marker list when positions clash."""
    if not any(positions.values()):
        return ""
    if sorted(positions.values()) != [str(n) for n in range(1, len(positions) + 1)]:
        return ["?"]  # rejected by the service with "put every item in a different place"
    return sorted(positions, key=lambda item: int(positions[item]))


def answers_from_form(form: FormData, questions) -> tuple[dict, dict]:
    """Form fields to API-shaped answers, plus the raw values to fill the form in again."""
    answers, given = {}, {}
    for question in questions:
        name = f"q-{question.slug}"
        if question.kind == QuestionKind.multiple:
            values = [str(v) for v in form.getlist(name)]
            answers[question.slug], given[question.slug] = values, values
        elif question.kind == QuestionKind.ordering:
            positions = {item: str(form.get(f"{name}-{item}", "")) for item in question.key["order"]}
            given[question.slug] = positions
            answers[question.slug] = _order_from_positions(positions)
        else:
            value = str(form.get(name, "")).strip()
            answers[question.slug], given[question.slug] = value, value
    return answers, given


@pages.post("/{lang}/courses/{slug}/quizzes/{quiz_slug}", dependencies=[Csrf])
async def quiz_submit(request: Request, lang: PageLang, slug: str, quiz_slug: str, session: DbSession,
                      user: PageUser):
    course = _course(session, slug)
    quiz = _quiz(session, course, quiz_slug)
    form = await request.form()
    attempt = service.open_attempt(session, user, quiz)
    if str(form.get("attempt_id", "")) != str(attempt.id):
        # The questions changed under the learner (another tab graded this attempt): show the new set.
        context = _quiz_context(session, course, quiz, attempt, lang)
        context["notice"] = gettext(lang, "This quiz was opened again in another tab. Here is a fresh attempt.")
        return render(request, "courses/quiz.html", context, lang=lang, fragment="courses/_quiz.html", status_code=409)
    answers, given = answers_from_form(form, service.attempt_questions(session, attempt))
    errors = service.check_answers(session, attempt, answers)
    if errors:
        errors = {qid: gettext(lang, message) for qid, message in errors.items()}
        context = _quiz_context(session, course, quiz, attempt, lang, given, errors)
        return render(request, "courses/quiz.html", context, lang=lang, fragment="courses/_quiz.html", status_code=422)
    service.grade_attempt(session, user, attempt, answers)
    context = _quiz_context(session, course, quiz, attempt, lang)
    context["progress"] = service.course_progress(session, course, user)
    return render(request, "courses/quiz.html", context, lang=lang, fragment="courses/_quiz.html")


@pages.get("/{lang}/glossary")
def glossary_page(request: Request, lang: PageLang):
    glossary, _errors = read_glossary(request.app.state.settings.content_dir)
    terms = sorted(glossary.get(content_language(lang), {}).items(), key=lambda kv: str(kv[1]["term"]).casefold())
    return render(request, "courses/glossary.html", {"terms": terms, "clang": content_language(lang)}, lang=lang)


@pages.get("/content/{slug}/images/{name}")
def content_image(request: Request, slug: str, name: str):
    folder = (request.app.state.settings.content_dir / slug / "images").resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file() or path.suffix not in (".svg", ".png", ".jpg", ".webp"):
        raise HTTPException(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


# ---------------------------------------------------------------- JSON API

def _course_out(card: service.CourseCard, lang: str) -> CourseOut:
    counts = card.counts
    return CourseOut(slug=card.slug, title=card.title, summary=card.summary, audience=card.audience,
                     counts=CourseCountsOut(modules=counts.modules, lessons=counts.lessons,
                                            questions=counts.questions, words=counts.words.get(lang, 0)),
                     progress_percent=card.percent)


@api.get("/courses", response_model=list[CourseOut])
def api_courses(session: DbSession, user: CurrentUser, lang: ApiLang):
    """Every course with its counts, in `lang` (kk or ru; en reads the Russian texts)."""
    clang = content_language(lang)
    return [_course_out(card, clang) for card in service.catalogue(session, user, clang)]


@api.get("/courses/{slug}", response_model=CourseDetailOut)
def api_course(slug: str, session: DbSession, user: CurrentUser, lang: ApiLang):
    course = _course(session, slug)
    clang = content_language(lang)
    progress = service.course_progress(session, course, user)
    card = service.course_card(session, course, user, clang, progress)
    modules = [ModuleOut(
        slug=m.module.slug, title=m.module.title.get(clang, ""), summary=m.module.summary.get(clang, ""),
        lessons=[LessonRef(slug=l.slug, title=l.title.get(clang, ""), read=read,
                           url=f"/api/v1/courses/{slug}/lessons/{l.slug}") for l, read in m.lessons],
        quiz=m.quiz.slug if m.quiz else None, quiz_passed=m.quiz_passed, completed=m.completed,
    ) for m in progress.modules]
    return CourseDetailOut(**_course_out(card, clang).model_dump(), enrolled=progress.enrolled,
                           completed=progress.completed_at is not None, modules=modules,
                           final_exam=progress.final_exam.slug if progress.final_exam else None)


@api.get("/courses/{slug}/lessons/{lesson_slug}", response_model=LessonOut)
def api_lesson(slug: str, lesson_slug: str, session: DbSession, user: CurrentUser, lang: ApiLang):
    course = _course(session, slug)
    lesson = _lesson(session, course, lesson_slug)
    clang = content_language(lang)
    place = service.lesson_place(service.course_progress(session, course, user), lesson)
    return LessonOut(course=slug, slug=lesson.slug, title=lesson.title.get(clang, ""),
                     html=lesson.body_html.get(clang, ""), read=place.read)


@api.post("/courses/{slug}/lessons/{lesson_slug}/read", response_model=ProgressOut)
def api_lesson_read(slug: str, lesson_slug: str, session: DbSession, user: ApiUser):
    course = _course(session, slug)
    progress = service.mark_lesson_read(session, user, course, _lesson(session, course, lesson_slug))
    return _progress_out(progress)


@api.post("/courses/{slug}/enroll", response_model=ProgressOut)
def api_enroll(slug: str, session: DbSession, user: ApiUser):
    course = _course(session, slug)
    service.enroll(session, user, course)
    return _progress_out(service.course_progress(session, course, user))


@api.post("/courses/{slug}/quizzes/{quiz_slug}/attempts", response_model=AttemptOut)
def api_start_attempt(slug: str, quiz_slug: str, session: DbSession, user: ApiUser, lang: ApiLang):
    """Open (or resume) an attempt: the questions to answer, without their keys."""
    course = _course(session, slug)
    quiz = _quiz(session, course, quiz_slug)
    attempt = service.open_attempt(session, user, quiz)
    clang = content_language(lang)
    questions = [QuestionOut(**vars(service.question_view(q, clang, attempt.id)))
                 for q in service.attempt_questions(session, attempt)]
    return AttemptOut(attempt_id=attempt.id, quiz=quiz.slug, questions=questions)


@api.post("/attempts/{attempt_id}", response_model=GradedOut)
def api_submit_attempt(attempt_id: int, data: AnswersIn, session: DbSession, user: ApiUser, lang: ApiLang):
    """Grade an attempt on the server; 422 names the first malformed answer."""
    attempt = session.get(service.QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise HTTPException(status_code=404)
    try:
        service.grade_attempt(session, user, attempt, data.answers)
    except service.AnswerError as error:
        raise HTTPException(status_code=422, detail=[{
            "loc": ["body", "answers", error.field], "msg": gettext(lang, error.message), "type": "value_error",
        }]) from None
    quiz = session.get(Quiz, attempt.quiz_id)
    clang = content_language(lang)
    return GradedOut(attempt_id=attempt.id, score=attempt.score, passed=attempt.passed, pass_mark=quiz.pass_mark,
                     feedback=[FeedbackOut(id=f.id, correct=f.correct, given=f.given, key=f.key,
                                           explanation=f.explanation, options=f.options)
                               for f in service.attempt_feedback(session, attempt, clang)])


def _progress_out(progress: service.CourseProgress) -> ProgressOut:
    return ProgressOut(course=progress.course.slug, percent=progress.percent,
                       completed=progress.completed_at is not None,
                       resume_lesson=progress.resume.slug if progress.resume else None)


@api.get("/me/progress", response_model=list[ProgressOut])
def api_my_progress(session: DbSession, user: ApiUser):
    return [_progress_out(service.course_progress(session, course, user))
            for course in service.list_courses(session) if service.enrollment_of(session, user, course)]
