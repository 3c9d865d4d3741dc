"""SQL statements per request stay within a budget that does not grow with the number of courses."""
import dataclasses
import re


from gennation.courses import service
from gennation.courses.service import load_courses
from tests.conftest import count_queries, csrf_of
from tests.courses.answering import page_form
from tests.courses.test_routes import quiz_form
from tests.courses.test_service import PERFECT

# Statements per request, for a signed-in learner unless the name says otherwise; the learner's progress
# is read from the database (as on their first page in a process) unless the name says "again".
BUDGETS = {
    "catalogue (anonymous)": 1, "lesson (anonymous)": 1, "course (anonymous)": 1,
    "catalogue": 5, "course": 5, "lesson": 5, "quiz": 5, "quiz submission": 11, "account": 6,
    "lesson (again)": 2,
}
PAGES = {"catalogue": "/kk/courses", "course": "/kk/courses/test-course",
         "lesson": "/kk/courses/test-course/lessons/first-steps", "account": "/kk/account"}


def measure(client, engine, quiz) -> dict[str, int]:
    counts = {}
    anonymous = client.cookies.get("gn_session")
    client.cookies.clear()
    for name in ("catalogue", "lesson", "course"):
        client.get(PAGES[name])  # the read model of this content version is built once, before counting
        with count_queries(engine) as statements:
            assert client.get(PAGES[name]).status_code == 200
        counts[f"{name} (anonymous)"] = len(statements)
    client.cookies.set("gn_session", anonymous)
    for name, path in PAGES.items():
        service._states.clear()
        with count_queries(engine) as statements:
            assert client.get(path).status_code == 200
        counts[name] = len(statements)
    with count_queries(engine) as statements:  # the person and the content version: no progress
        assert client.get(PAGES["lesson"]).status_code == 200
    counts["lesson (again)"] = len(statements)
    service._states.clear()
    with count_queries(engine) as statements:
        html, hidden = quiz_form(client)
    counts["quiz"] = len(statements)
    answers = page_form(html, quiz, "kk", PERFECT)
    with count_queries(engine) as statements:
        graded = client.post("/kk/courses/test-course/quizzes/basics-quiz", data={**hidden, **answers})
    assert 'class="result pass"' in graded.text
    counts["quiz submission"] = len(statements)
    return counts


def test_pages_stay_within_their_query_budgets(learner, app, loaded):
    counts = measure(learner, app.state.engine, loaded.quiz("basics-quiz"))
    over = {name: (count, BUDGETS[name]) for name, count in counts.items() if count > BUDGETS[name]}
    assert not over, (over, counts)


def test_budgets_do_not_grow_with_the_number_of_courses(learner, app, session, course_sources, loaded):
    page = learner.get("/kk/courses/test-course/lessons/first-steps").text
    learner.post("/kk/courses/test-course/lessons/first-steps/read", data={"csrf_token": csrf_of(page)},
                 follow_redirects=False)
    one_course = measure(learner, app.state.engine, loaded.quiz("basics-quiz"))
    more = [dataclasses.replace(course_sources[0], id=f"copy-{n}", position=n + 2, version=f"v{n}")
            for n in range(3)]
    load_courses(session, [course_sources[0], *more])
    session.commit()
    for n in range(3):  # progress in the other courses too
        learner.post(f"/kk/courses/copy-{n}/enroll", data={"csrf_token": csrf_of(page)})
    assert len(re.findall(r'class="card"', learner.get("/kk/courses").text)) == 4
    four_courses = measure(learner, app.state.engine, loaded.quiz("basics-quiz"))
    assert four_courses == one_course
