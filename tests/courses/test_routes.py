import re
from urllib.parse import urljoin

import pytest

from tests.conftest import api_token, csrf_of
from tests.courses.answering import api_answers, page_form
from tests.courses.test_service import PERFECT


def quiz_form(client, lang="kk", quiz="basics-quiz"):
    html = client.get(f"/{lang}/courses/test-course/quizzes/{quiz}").text
    attempt = re.search(r'name="attempt_id" value="(\d+)"', html).group(1)
    return html, {"csrf_token": csrf_of(html), "attempt_id": attempt}


def test_catalogue_and_course_pages_in_both_languages(client):
    kk = client.get("/kk/courses").text
    ru = client.get("/ru/courses").text
    assert '<html lang="kk">' in kk and "Сынақ курсы: ғылым мен өнер" in kk
    assert '<html lang="ru">' in ru and "Тестовый курс" in ru
    course = client.get("/kk/courses/test-course").text
    assert "Алғашқы қадамдар: әңгіме" in course and "/kk/courses/test-course/quizzes/basics-quiz" in course


def test_lesson_page_renders_markdown_glossary_links_and_key_ideas(client):
    html = client.get("/kk/courses/test-course/lessons/first-steps").text
    assert '<a href="/kk/glossary#data" class="term">Деректер</a>' in html
    assert '<aside class="key-ideas">' in html
    assert 'src="/content/test-course/images/loop.svg"' in html
    assert client.get("/content/test-course/images/loop.svg").status_code == 200
    assert client.get("/content/test-course/images/..%2F..%2Fcourse.yaml").status_code == 404


def test_unknown_course_or_lesson_gives_a_localised_404_page_or_json(client):
    kk = client.get("/kk/courses/nope")
    ru = client.get("/ru/courses/test-course/lessons/nope")
    assert kk.status_code == ru.status_code == 404
    assert '<html lang="kk">' in kk.text and '<html lang="ru">' in ru.text
    assert "Page not found" not in kk.text + ru.text
    api = client.get("/api/v1/courses/nope", headers={"Accept-Language": "ru"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    assert client.get("/xx/courses").status_code == 404


def test_root_redirect_follows_accept_language(client):
    response = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"}, follow_redirects=False)
    assert response.headers["location"] == "/ru/"
    assert client.get("/", headers={"Accept-Language": "de"}, follow_redirects=False).headers["location"] == "/kk/"


def test_root_remembers_the_language_chosen_last_with_the_switch(client):
    switched = client.get("/ru/language", params={"next": "/ru/courses"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/ru/courses"
    assert "gn_session" not in switched.headers.get("set-cookie", "")  # a plain cookie, no server session
    response = client.get("/", headers={"Accept-Language": "kk"}, follow_redirects=False)
    assert response.headers["location"] == "/ru/"


def test_the_language_switch_goes_only_to_our_own_pages(client):
    for target in ("https://evil.example/ru/", "//evil.example/ru/", "/kk/courses"):
        response = client.get("/ru/language", params={"next": target}, follow_redirects=False)
        assert response.headers["location"] == "/ru/"


def test_language_switcher_keeps_the_page(client):
    html = client.get("/kk/courses/test-course/lessons/first-steps").text
    assert 'href="/ru/language?next=%2Fru%2Fcourses%2Ftest-course%2Flessons%2Ffirst-steps" lang="ru"' in html
    assert 'href="/en/language?next=%2Fen%2Fcourses%2Ftest-course%2Flessons%2Ffirst-steps" lang="en"' in html
    page = client.get("/ru/language?next=%2Fru%2Fcourses%2Ftest-course%2Flessons%2Ffirst-steps")
    assert page.status_code == 200 and '<html lang="ru">' in page.text


def test_quiz_page_never_contains_the_keys(learner):
    html, _ = quiz_form(learner)
    for secret in ("A ok", "B no", "Sixty", "correct", "Collect, train, check"):
        assert secret not in html
    named = set(re.findall(r'(?:value|for)="q?-?([^"]*)"', html))
    assert not {"a", "b", "c", "true", "false"} & named  # choices are named by the attempt's tokens only
    assert not [n for n in named if n.endswith(("-a", "-b", "-true", "-false", "-collect", "-train", "-check"))]


def test_htmx_quiz_submission_returns_only_the_graded_fragment(learner, loaded):
    html, hidden = quiz_form(learner)
    response = learner.post("/kk/courses/test-course/quizzes/basics-quiz",
                            data={**hidden, **page_form(html, loaded.quiz("basics-quiz"), "kk", PERFECT)},
                            headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="quiz">') and "<html" not in response.text
    assert "A ok kk." in response.text and 'class="result pass"' in response.text


def test_quiz_works_without_javascript_and_keeps_answers_on_error(learner, loaded):
    html, hidden = quiz_form(learner, "ru")
    quiz = loaded.quiz("basics-quiz")
    partial = page_form(html, quiz, "ru",
                        {k: v for k, v in PERFECT.items() if k != "yes-no"} | {"how-many": "шестьдесят"})
    response = learner.post("/ru/courses/test-course/quizzes/basics-quiz", data={**hidden, **partial})
    assert response.status_code == 422 and "<html" in response.text
    assert 'id="q-how-many" name="q-how-many" inputmode="decimal" value="шестьдесят"' in response.text
    token = partial["q-pick-one"]
    assert f'id="q-pick-one-{token}" name="q-pick-one" value="{token}" checked' in response.text
    assert 'id="q-yes-no-error"' in response.text and 'id="q-how-many-error"' in response.text
    graded = learner.post("/ru/courses/test-course/quizzes/basics-quiz",
                          data={**hidden, **page_form(html, quiz, "ru", PERFECT)})
    assert graded.status_code == 200 and 'class="result pass"' in graded.text


def test_reading_a_lesson_with_htmx_updates_progress_in_place(learner):
    page = learner.get("/kk/courses/test-course/lessons/first-steps").text
    response = learner.post("/kk/courses/test-course/lessons/first-steps/read",
                            data={"csrf_token": csrf_of(page)}, headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<section id="lesson-status"')
    assert 'value="16"' in response.text
    no_js = learner.post("/kk/courses/test-course/lessons/second-steps/read", data={"csrf_token": csrf_of(page)},
                         follow_redirects=False)
    assert no_js.headers["location"] == "/kk/courses/test-course/quizzes/basics-quiz"  # last lesson of the module


def test_api_quiz_flow_with_malformed_answer_named(client, loaded):
    headers = api_token(client)
    started = client.post("/api/v1/courses/test-course/quizzes/basics-quiz/attempts", headers=headers,
                          params={"lang": "kk"}).json()
    assert [q["id"] for q in started["questions"]] == ["pick-one", "pick-many", "yes-no", "how-many", "put-in-order"]
    assert "correct" not in repr(started) and "explanation" not in repr(started)
    answers = api_answers(started, loaded.quiz("basics-quiz"), "kk", {**PERFECT, "how-many": "x"})["answers"]
    bad = client.post(f"/api/v1/attempts/{started['attempt_id']}", json={"answers": answers}, headers=headers,
                      params={"lang": "ru"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "answers", "how-many"]
    assert bad.json()["detail"][0]["msg"] != "Enter a number, for example 12 or 3.5."
    wrong_type = client.post(f"/api/v1/attempts/{started['attempt_id']}", json={"answers": "all of them"},
                             headers=headers)
    assert wrong_type.status_code == 422 and wrong_type.json()["detail"][0]["loc"] == ["body", "answers"]
    good = client.post(f"/api/v1/attempts/{started['attempt_id']}", json={"answers": {**answers, "how-many": 60}},
                       headers=headers)
    assert good.status_code == 200 and good.json()["passed"] and good.json()["score"] == 100.0
    progress = client.get("/api/v1/me/progress", headers=headers).json()
    assert progress == [{"course": "test-course", "percent": 16, "completed": False, "resume_lesson": "first-steps"}]


def test_another_learners_attempt_is_not_found(client):
    first = api_token(client, "first")
    second = api_token(client, "second")
    started = client.post("/api/v1/courses/test-course/quizzes/basics-quiz/attempts", headers=first).json()
    response = client.post(f"/api/v1/attempts/{started['attempt_id']}", json={"answers": {}}, headers=second)
    assert response.status_code == 404


def test_api_lists_courses_with_counts_per_language(client):
    kk = client.get("/api/v1/courses", params={"lang": "kk"}).json()
    ru = client.get("/api/v1/courses", params={"lang": "ru"}).json()
    assert kk[0]["title"] == "Сынақ курсы: ғылым мен өнер" and ru[0]["title"] == "Тестовый курс"
    assert kk[0]["counts"] | {"words": 0} == {"modules": 2, "lessons": 3, "questions": 11, "words": 0}
    assert "/api/v1/courses" in client.get("/openapi.json").json()["paths"]


def test_health_reports_database_redis_and_tutor_model(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["tutor"] == "unavailable" and body["tutor_model_file"] == "missing"
    assert body["redis"].startswith("not configured")


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_lesson_page_weighs_under_100_kb_transferred(client, lang):
    """Everything a lesson page loads (HTML, CSS, scripts, images), gzip-compressed as served."""
    headers = {"Accept-Encoding": "gzip"}
    page = client.get(f"/{lang}/courses/test-course/lessons/first-steps", headers=headers)
    total = page.num_bytes_downloaded
    assets = set(re.findall(r'(?:src|href)="(/(?:static|content)/[^"]+)"', page.text))
    assert any("htmx" in a for a in assets) and any(a.endswith(".svg") for a in assets)
    for asset in assets:
        response = client.get(urljoin("http://testserver", asset), headers=headers)
        assert response.status_code == 200, asset
        total += response.num_bytes_downloaded
    assert total < 100_000, total


def test_static_files_are_cacheable_for_a_year(client):
    html = client.get("/kk/courses").text
    css = re.search(r'href="(/static/site\.css\?v=[0-9a-f]+)"', html).group(1)
    assert "immutable" in client.get(css).headers["cache-control"]
