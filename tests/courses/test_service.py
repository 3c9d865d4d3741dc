import dataclasses

import pytest
from sqlmodel import select

from gennation.courses import service
from gennation.courses.models import CourseCompletion, Lesson, Question, QuizAttempt
from gennation.platform.accounts.models import User
from gennation.platform.accounts.schemas import RegistrationIn
from gennation.platform.accounts.service import register
from tests.conftest import REGISTRATION, count_queries
from tests.courses.answering import PERFECT_EXAM, attempt_answers

PERFECT = {"pick-one": "a", "pick-many": ["b", "a"], "yes-no": "false", "how-many": "60.9",
           "put-in-order": ["collect", "train", "check"]}


@pytest.fixture
def user(session):
    return register(session, RegistrationIn(username="learner", language="kk", **REGISTRATION))


def quiz(session, course, slug="basics-quiz"):
    return course.quiz(slug)


def grade(session, user, attempt, answers):
    """Grade with answers written with source ids, as the learner's tokens of this attempt."""
    return service.grade_attempt(session, user, attempt, attempt_answers(attempt, answers))


def test_loading_twice_changes_nothing(session, loaded, course_sources):
    assert service.load_courses(session, course_sources) == {"test-course": "unchanged"}


def test_editing_a_course_keeps_progress_and_retires_removed_lessons(session, loaded, course_sources, user):
    lesson = loaded.lesson("first-steps")
    service.mark_lesson_read(session, user, loaded, lesson)
    edited = course_sources[0]
    basics = edited.modules[0]
    basics.lessons[0].title = {"kk": "Жаңа атау", "ru": "Новое название"}
    edited.modules[0] = dataclasses.replace(basics, lessons=basics.lessons[:1])
    edited.version = "edited"
    assert service.load_courses(session, [edited]) == {"test-course": "updated"}
    loaded = service.get_course(session, "test-course")  # the read model of the new version
    progress = service.course_progress(session, loaded, user)
    reads = {l.slug: read for m in progress.modules for l, read in m.lessons}
    assert reads == {"first-steps": True, "only-lesson": False}
    assert loaded.lesson("first-steps").title["kk"] == "Жаңа атау"
    assert session.exec(select(Lesson).where(Lesson.slug == "second-steps")).one().retired


def test_question_views_never_carry_the_key(session, loaded, user):
    attempt = service.open_attempt(session, user, quiz(session, loaded))
    for question in service.attempt_questions(session, attempt):
        view = dataclasses.asdict(service.question_view(question, "kk", attempt))
        flat = repr(view)
        assert "correct" not in flat and "explanation" not in flat and "answer" not in flat
        assert not set(question.choices) & {o["id"] for o in view["options"]}  # tokens, never the source ids
        # Shown in the order drawn for this attempt; for an ordering question that may be the keyed order
        # itself (never showing it would tell which one it is), so the test cannot ask for another one.
        assert [o["id"] for o in view["options"]] == [token for token, _ in attempt.layout.get(question.slug, [])]


def test_perfect_answers_pass_and_each_type_is_graded(session, loaded, user):
    attempt = grade(session, user, service.open_attempt(session, user, quiz(session, loaded)), PERFECT)
    assert attempt.score == 100.0 and attempt.passed
    assert attempt.results == {slug: True for slug in PERFECT}


@pytest.mark.parametrize("slug,wrong", [("pick-one", "b"), ("pick-many", ["a"]), ("yes-no", "true"),
                                        ("how-many", "61.5"), ("put-in-order", ["train", "collect", "check"])])
def test_one_wrong_answer_of_each_type_is_marked_wrong(session, loaded, user, slug, wrong):
    attempt = service.open_attempt(session, user, quiz(session, loaded))
    graded = grade(session, user, attempt, {**PERFECT, slug: wrong})
    assert graded.results[slug] is False
    assert graded.score == 80.0 and graded.passed  # pass mark 60


def test_numeric_answers_accept_a_decimal_comma_and_tolerance(session, loaded, user):
    attempt = service.open_attempt(session, user, quiz(session, loaded))
    graded = grade(session, user, attempt, {**PERFECT, "how-many": "59,0"})
    assert graded.results["how-many"] is True


@pytest.mark.parametrize("slug,bad,message", [
    ("pick-one", "z", "Choose one of the options."),
    ("pick-many", ["a", "zz"], "Choose one or more of the options."),
    ("how-many", "sixty", "Enter a number, for example 12 or 3.5."),
    ("put-in-order", ["collect", "collect", "check"], "Put every item in a different place."),
    ("yes-no", None, "Please answer this question."),
])
def test_malformed_answers_name_the_question_and_store_nothing(session, loaded, user, slug, bad, message):
    attempt = service.open_attempt(session, user, quiz(session, loaded))
    with pytest.raises(service.AnswerError) as raised:
        grade(session, user, attempt, {**PERFECT, slug: bad})
    assert (raised.value.field, raised.value.message) == (slug, message)
    session.flush()
    session.refresh(attempt)
    assert attempt.graded_at is None and attempt.answers == {}


def test_a_graded_attempt_cannot_be_graded_again(session, loaded, user):
    attempt = grade(session, user, service.open_attempt(session, user, quiz(session, loaded)), PERFECT)
    with pytest.raises(service.AnswerError):
        grade(session, user, attempt, PERFECT)
    assert service.open_attempt(session, user, quiz(session, loaded)).id != attempt.id


def test_final_exam_draws_its_questions_from_the_bank(session, loaded, user):
    exam = quiz(session, loaded, "final-exam")
    drawn = [service.open_attempt(session, user, exam) for _ in range(2)]
    assert drawn[0].id == drawn[1].id  # the open attempt is resumed, not redrawn
    assert len(drawn[0].question_ids) == 2
    bank = {q.id for q in session.exec(select(Question).where(Question.quiz_id == exam.id))}
    assert set(drawn[0].question_ids) <= bank and len(bank) == 4


def complete_everything(session, course, user):
    for lesson in course.lessons:
        service.mark_lesson_read(session, user, course, lesson)
    grade(session, user, service.open_attempt(session, user, quiz(session, course)), PERFECT)
    grade(session, user, service.open_attempt(session, user, quiz(session, course, "practice-quiz")),
                          {"p1": "a", "p2": "true"})
    exam = service.open_attempt(session, user, quiz(session, course, "final-exam"))
    return grade(session, user, exam, {slug: "a" for slug in ("e1", "e2", "e3", "e4")})


def test_progress_moves_with_each_step_and_completion_is_recorded_once(session, loaded, user):
    assert service.course_progress(session, loaded, user).percent == 0
    service.mark_lesson_read(session, user, loaded, loaded.lesson("first-steps"))
    progress = service.course_progress(session, loaded, user)
    assert progress.percent == 16 and progress.resume.slug == "second-steps"  # 1 of 6 steps
    complete_everything(session, loaded, user)
    progress = service.course_progress(session, loaded, user)
    assert progress.percent == 100 and progress.completed_at is not None
    completions = session.exec(select(CourseCompletion)).all()
    assert len(completions) == 1 and completions[0].score == 100.0
    assert completions[0].content_version == loaded.content_version
    service.mark_lesson_read(session, user, loaded, loaded.lesson("first-steps"))
    assert len(session.exec(select(CourseCompletion)).all()) == 1


def test_failed_quiz_does_not_complete_the_module(session, loaded, user):
    attempt = service.open_attempt(session, user, quiz(session, loaded))
    graded = grade(session, user, attempt, {**PERFECT, "pick-one": "b", "yes-no": "true"})
    assert graded.score == 60.0 and graded.passed  # exactly the pass mark passes
    attempt = service.open_attempt(session, user, quiz(session, loaded))
    graded = grade(session, user, attempt, {**PERFECT, "pick-one": "b", "yes-no": "true",
                                                            "how-many": "1"})
    assert not graded.passed
    module = service.course_progress(session, loaded, user).modules[0]
    assert module.quiz_passed and module.best_score == 60.0  # the best attempt counts
    assert len(session.exec(select(QuizAttempt)).all()) == 2


def test_a_web_process_trusts_the_course_versions_it_read_for_the_recheck_window_only(settings, session, loaded,
                                                                                     course_sources, monkeypatch):
    from gennation.courses import outline
    from gennation.platform.database import Database
    web = Database(settings.database_url, pool_size=2, content_recheck=2.0)  # another process, so to speak
    clock = [1000.0]
    monkeypatch.setattr(outline, "monotonic", lambda: clock[0])
    try:
        with web.unit_of_work() as s:
            before = outline.catalogue(s)
        service.load_courses(session, [dataclasses.replace(course_sources[0], version="v-next")])
        session.commit()
        clock[0] += 1.5
        with web.unit_of_work() as s, count_queries(web.engine) as statements:
            assert outline.catalogue(s) is before  # within the window: no query, the old version
        assert statements == []
        clock[0] += 1.0
        with web.unit_of_work() as s:
            after = outline.catalogue(s)
        assert after is not before and dict(after.version)[before.version[0][0]] == "v-next"
    finally:
        web.dispose()


def _person(db, user_id):
    """The person as a request reads them: fresh, in a unit of work of its own, with their progress stamp."""
    with db.unit_of_work() as s:
        person = s.get(User, user_id)
        s.expunge(person)
    return person


def _read_lessons(db, user_id):
    person = _person(db, user_id)
    with db.unit_of_work() as s, count_queries(db.engine) as statements:
        state = service.learner_state(s, person)
    progress_queries = [q for q in statements if "lessonprogress" in q or "FROM enrollment" in q]
    return state.read, len(progress_queries)


def test_a_learners_state_is_read_once_and_again_after_each_change_of_their_progress(app, session, loaded, user):
    db, lessons = app.state.db, loaded.lessons
    session.commit()
    assert _read_lessons(db, user.id) == (set(), 2)
    assert _read_lessons(db, user.id) == (set(), 0)  # kept: nothing changed
    with db.unit_of_work() as s:  # another request, or another process, marks a lesson read
        service.mark_lesson_read(s, _person(db, user.id), loaded, lessons[0])
    assert _read_lessons(db, user.id) == ({lessons[0].id}, 2)  # a new stamp: read again
    with db.unit_of_work() as s:  # a graded attempt changes it too
        person = _person(db, user.id)
        attempt = service.open_attempt(s, person, quiz(s, loaded))
        grade(s, person, attempt, PERFECT)
    person = _person(db, user.id)
    with db.unit_of_work() as s:
        assert service.learner_state(s, person).scores[quiz(s, loaded).id] == (100.0, True)


def test_a_kept_state_is_not_changed_by_the_caller_that_got_it(app, session, loaded, user):
    db = app.state.db
    session.commit()
    _read_lessons(db, user.id)
    person = _person(db, user.id)
    with db.unit_of_work() as s:
        service.learner_state(s, person).read.add(loaded.lessons[0].id)  # as mark_lesson_read does
    assert _read_lessons(db, user.id) == (set(), 0)


def test_a_person_without_a_progress_stamp_has_their_progress_read_every_time(app, session, loaded, user):
    user.progress_stamp = None  # as everyone registered before stamps existed
    session.add(user)
    session.commit()
    assert _read_lessons(app.state.db, user.id)[1] == 2
    assert _read_lessons(app.state.db, user.id)[1] == 2


def test_a_unit_of_work_that_changed_progress_reads_it_from_the_database_from_then_on(app, session, loaded, user):
    db, first = app.state.db, loaded.lessons[0]
    session.commit()
    person = _person(db, user.id)
    _read_lessons(db, user.id)  # kept under the stamp `person` still carries
    with db.unit_of_work() as s:
        service.mark_lesson_read(s, person, loaded, first)
        assert first.id in service.learner_state(s, person).read


def test_the_last_quiz_passed_after_a_page_was_seen_completes_the_course(app, session, loaded, user):
    """The grade is not flushed yet when completion is decided: the kept state (without it) must not be used."""
    db = app.state.db
    session.commit()
    for lesson in loaded.lessons:
        with db.unit_of_work() as s:
            service.mark_lesson_read(s, _person(db, user.id), loaded, lesson)
    passing = [("basics-quiz", PERFECT), ("practice-quiz", {"p1": "a", "p2": "true"}), ("final-exam", PERFECT_EXAM)]
    for number, (slug, answers) in enumerate(passing):
        _read_lessons(db, user.id)  # a page seen before each quiz: the state is kept
        with db.unit_of_work() as s:
            person = _person(db, user.id)
            grade(s, person, service.open_attempt(s, person, loaded.quiz(slug)), answers)
            progress = service.progress_of(loaded, service.learner_state(s, person))
            assert (progress.completed_at is not None) == (number == len(passing) - 1)
    assert [c.user_id for c in session.exec(select(CourseCompletion))] == [user.id]


def test_a_grade_rolled_back_is_not_kept(app, session, loaded, user):
    db = app.state.db
    session.commit()
    with pytest.raises(RuntimeError), db.unit_of_work() as s:
        person = _person(db, user.id)
        attempt = service.open_attempt(s, person, quiz(s, loaded))
        grade(s, person, attempt, PERFECT)  # its state read, with this uncommitted score
        raise RuntimeError("the request fails after grading")
    with db.unit_of_work() as s:
        assert service.learner_state(s, _person(db, user.id)).scores == {}
