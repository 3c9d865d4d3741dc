"""Assessments worth a certificate: choices shuffled per attempt, final exams that keep their keys until
passed, a pause and a daily limit between final-exam attempts, and a validator that refuses a bank a fixed
answering pattern could pass."""
import dataclasses
import itertools
import math
import re
import shutil
from datetime import timedelta

import pytest

from gennation.courses import service
from gennation.courses.source import (
    STRICT, ContentRules, QuestionSource, QuizSource, _guess_chances, blind_pass_chance, passing_score, read_all,
)
from gennation.platform.accounts.schemas import RegistrationIn
from gennation.platform.accounts.service import register
from gennation.platform.database import utcnow
from gennation.platform.i18n import gettext
from gennation.platform.settings import ROOT
from tests.conftest import FIXTURE_CONTENT, REGISTRATION, RELAXED, api_token, csrf_of
from tests.courses.answering import api_answers, attempt_answers, page_form
from tests.courses.test_service import PERFECT

WRONG_EXAM = {"e1": "b", "e2": "b", "e3": "b", "e4": "b"}
RIGHT_EXAM = {"e1": "a", "e2": "a", "e3": "a", "e4": "a"}
START = "/api/v1/courses/test-course/quizzes/{quiz}/attempts"


def start(client, headers, quiz="basics-quiz", lang="ru"):
    return client.post(START.format(quiz=quiz), headers=headers, params={"lang": lang})


def submit(client, headers, started, quiz, answers, lang="ru"):
    return client.post(f"/api/v1/attempts/{started['attempt_id']}", headers=headers, params={"lang": lang},
                       json=api_answers(started, quiz, lang, answers))


def order_of(started) -> tuple:
    return tuple(tuple(o["text"] for o in q["options"]) for q in started["questions"])


# ---------------------------------------------------------------- shuffling

def test_the_order_is_kept_within_an_attempt_and_drawn_anew_for_each_attempt(client, loaded):
    headers = api_token(client)
    quiz = loaded.quiz("basics-quiz")
    orders, tokens = [], []
    for _ in range(6):
        started = start(client, headers).json()
        again = start(client, headers).json()  # resuming shows the very same attempt
        assert again == started
        orders.append(order_of(started))
        tokens.append({o["id"] for q in started["questions"] for o in q["options"]})
        assert submit(client, headers, started, quiz, PERFECT).json()["score"] == 100.0
    assert len(set(orders)) > 1  # 120 possible orders of this quiz: six equal ones would be a broken shuffle
    assert all(not a & b for a, b in itertools.combinations(tokens, 2))  # no token is ever reused


def test_the_page_and_the_api_show_one_attempt_in_the_same_order(learner, loaded, session):
    html = learner.get("/ru/courses/test-course/quizzes/basics-quiz").text
    attempt_id = int(re.search(r'name="attempt_id" value="(\d+)"', html).group(1))
    attempt = session.get(service.QuizAttempt, attempt_id)
    for question in loaded.quiz("basics-quiz").questions:
        tokens = [token for token, _ in service.shown(attempt, question)]
        shown = re.findall(rf'<label for="q-{question.slug}-([0-9a-f]{{6}})">', html)
        assert shown == tokens


def test_answers_with_the_tokens_of_another_attempt_are_refused_by_name(client, loaded):
    headers = api_token(client)
    quiz = loaded.quiz("basics-quiz")
    old = start(client, headers).json()
    submit(client, headers, old, quiz, PERFECT)
    new = start(client, headers).json()
    stale = client.post(f"/api/v1/attempts/{new['attempt_id']}", headers=headers, params={"lang": "ru"},
                        json=api_answers(old, quiz, "ru", PERFECT))
    assert stale.status_code == 422
    assert stale.json()["detail"][0]["loc"] == ["body", "answers", "pick-one"]
    assert stale.json()["detail"][0]["msg"] == "Выберите один из вариантов."
    source_ids = client.post(f"/api/v1/attempts/{new['attempt_id']}", headers=headers,
                             json={"answers": {**PERFECT, "how-many": 60}})
    assert source_ids.status_code == 422  # the ids of the course source name nothing in an attempt


# ---------------------------------------------------------------- feedback

def test_a_module_quiz_still_teaches_with_every_option_explained(client, loaded):
    headers = api_token(client)
    started = start(client, headers).json()
    graded = submit(client, headers, started, loaded.quiz("basics-quiz"), {**PERFECT, "pick-one": "b"}).json()
    feedback = {f["id"]: f for f in graded["feedback"]}
    pick_one = feedback["pick-one"]
    shown = {o["id"]: o["text"] for o in started["questions"][0]["options"]}
    assert not pick_one["correct"] and shown[pick_one["given"]] == "B-ru"
    assert [shown[t] for t in pick_one["key"]["correct"]] == ["A-ru"]
    assert {o["explanation"] for o in pick_one["options"]} == {"A ok ru.", "B no ru."}
    order = {o["id"]: o["text"] for o in feedback["put-in-order"]["options"]}
    assert [order[t] for t in feedback["put-in-order"]["key"]["order"]] == ["Collect", "Train", "Check"]


def test_a_failed_final_exam_shows_the_score_and_topics_but_no_key(client, loaded):
    headers = api_token(client)
    started = start(client, headers, "final-exam").json()
    response = submit(client, headers, started, loaded.quiz("final-exam"), WRONG_EXAM)
    graded = response.json()
    assert graded["score"] == 0.0 and not graded["passed"] and graded["feedback"] == []
    topics = {"e1": "Первые шаги", "e2": "Первые шаги", "e3": "Единственный урок", "e4": "Единственный урок"}
    assert graded["review"] == sorted({topics[q["id"]] for q in started["questions"]},
                                      key=["Первые шаги", "Единственный урок"].index)
    for secret in ("Yes.", "No.", "correct\":[", "explanation"):
        assert secret not in response.text
    assert graded["next_attempt_in"] == 600


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_final_exam_page_hides_the_key_until_passed_then_shows_it(learner, loaded, monkeypatch, app, lang):
    topics = gettext(lang, "Topics to review")
    hint = gettext(lang, "The final test does not show which answers were right until you pass it: "
                         "read the lessons of these topics again, then try once more.")
    assert topics != "Topics to review" and hint.startswith(("Қорытынды", "Итоговый"))  # translated, both
    monkeypatch.setattr(app.state.settings, "exam_cooldown_minutes", 0)
    exam = loaded.quiz("final-exam")
    page = f"/{lang}/courses/test-course/quizzes/final-exam"
    html = learner.get(page).text
    hidden = {"csrf_token": csrf_of(html), "attempt_id": re.search(r'name="attempt_id" value="(\d+)"', html)[1]}
    failed = learner.post(page, data={**hidden, **page_form(html, exam, lang, WRONG_EXAM)})
    assert 'class="result fail"' in failed.text and topics in failed.text and hint in failed.text
    assert "Yes." not in failed.text and "No." not in failed.text and 'class="correct"' not in failed.text
    assert re.search(r'<ol class="feedback">\s*</ol>', failed.text)  # no question comes back with its key
    html = learner.get(page).text
    hidden = {"csrf_token": csrf_of(html), "attempt_id": re.search(r'name="attempt_id" value="(\d+)"', html)[1]}
    passed = learner.post(page, data={**hidden, **page_form(html, exam, lang, RIGHT_EXAM)})
    assert 'class="result pass"' in passed.text and "Yes." in passed.text and topics not in passed.text


# ---------------------------------------------------------------- pause and daily limit

def test_the_api_refuses_a_new_final_exam_attempt_during_the_pause(client, loaded):
    headers = api_token(client)
    started = start(client, headers, "final-exam").json()
    submit(client, headers, started, loaded.quiz("final-exam"), WRONG_EXAM)
    refused = start(client, headers, "final-exam")
    assert refused.status_code == 429 and 590 <= int(refused.headers["retry-after"]) <= 600
    assert refused.json()["detail"].startswith("Пройти итоговый тест снова можно через 10 мин.")
    assert start(client, headers).status_code == 200  # module quizzes have no pause


@pytest.mark.parametrize("lang,message", [
    ("kk", "Қорытынды тестті 10 минуттан кейін қайта тапсыра аласыз."),
    ("ru", "Пройти итоговый тест снова можно через 10 мин."),
])
def test_the_page_tells_when_the_final_exam_opens_again(learner, loaded, lang, message):
    page = f"/{lang}/courses/test-course/quizzes/final-exam"
    html = learner.get(page).text
    hidden = {"csrf_token": csrf_of(html), "attempt_id": re.search(r'name="attempt_id" value="(\d+)"', html)[1]}
    graded = learner.post(page, data={**hidden, **page_form(html, loaded.quiz("final-exam"), lang, WRONG_EXAM)})
    assert message in graded.text and f'href="{page}"' not in graded.text  # no "try again" button meanwhile
    refused = learner.get(page)
    assert refused.status_code == 429 and message in refused.text and f'<html lang="{lang}">' in refused.text
    assert "Traceback" not in refused.text


@pytest.mark.parametrize("lang,message", [
    ("kk", "Бүгін қорытынды тестке берілетін 2 талпыныстың бәрін пайдаландыңыз"),
    ("ru", "Вы использовали все попытки итогового теста на сегодня (не более 2 в сутки)"),
])
def test_page_and_api_refuse_attempts_over_the_daily_limit(learner, client, loaded, app, monkeypatch, lang,
                                                          message):
    monkeypatch.setattr(app.state.settings, "exam_cooldown_minutes", 0)
    monkeypatch.setattr(app.state.settings, "exam_attempts_per_day", 2)
    page = f"/{lang}/courses/test-course/quizzes/final-exam"
    for _ in range(2):
        html = learner.get(page).text
        hidden = {"csrf_token": csrf_of(html), "attempt_id": re.search(r'name="attempt_id" value="(\d+)"', html)[1]}
        learner.post(page, data={**hidden, **page_form(html, loaded.quiz("final-exam"), lang, WRONG_EXAM)})
    refused = learner.get(page)
    assert refused.status_code == 429 and message in refused.text
    assert re.search(r"(24 сағат 0 минуттан кейін|через 24 ч 0 мин)", refused.text)  # a day, rounded up
    client.cookies.clear()  # another learner, through the API
    headers = api_token(client, f"daily-{lang}")
    for _ in range(2):
        submit(client, headers, start(client, headers, "final-exam").json(), loaded.quiz("final-exam"), WRONG_EXAM)
    over = start(client, headers, "final-exam", lang)
    assert over.status_code == 429 and message in over.json()["detail"]
    assert 86_000 < int(over.headers["retry-after"]) <= 86_400


def test_the_daily_window_frees_a_place_a_day_after_the_oldest_attempt(session, loaded):
    user = register(session, RegistrationIn(username="clock", language="kk", **REGISTRATION))
    exam = loaded.quiz("final-exam")
    limits = service.ExamLimits(timedelta(minutes=10), 3)
    t0 = utcnow() + timedelta(minutes=1)
    for n in range(3):
        attempt = service.open_attempt(session, user, exam, limits, now=t0 + n * timedelta(minutes=11))
        service.grade_attempt(session, user, attempt, attempt_answers(attempt, WRONG_EXAM))
    with pytest.raises(service.ExamDailyLimit) as refused:
        service.open_attempt(session, user, exam, limits, now=t0 + timedelta(minutes=33))
    assert refused.value.retry_after == math.ceil((timedelta(days=1) - timedelta(minutes=33)).total_seconds())
    assert refused.value.values == {"limit": 3, "hours": 23, "minutes": 27}
    with pytest.raises(service.ExamDailyLimit) as soon:  # within the last hour: minutes only, no "0 h"
        service.open_attempt(session, user, exam, limits, now=t0 + timedelta(hours=23, minutes=30))
    assert soon.value.message == service.ExamDailyLimit.within_the_hour and soon.value.values["minutes"] == 30
    fresh = service.open_attempt(session, user, exam, limits, now=t0 + timedelta(days=1, seconds=1))
    assert fresh.graded_at is None and len(fresh.question_ids) == 2


# ---------------------------------------------------------------- the validator

def strict_for_fixture() -> ContentRules:
    """The fixture's relaxed sizes with the assessment rules of the real content."""
    return dataclasses.replace(RELAXED, max_keyed_position_share=STRICT.max_keyed_position_share,
                               max_blind_pass_chance=STRICT.max_blind_pass_chance)


def single(qid, options, keyed, module=None) -> str:
    lines = [f"  - id: {qid}", "    type: single"] + ([f"    module: {module}"] if module else []) + [
        f'    prompt: "Question {qid}?"', "    options:"]
    for n in range(options):
        flag = "correct: true, " if n == keyed else ""
        lines.append(f'      - {{id: o{n}, text: "Option {n} of {qid}", {flag}explanation: "Because {n}."}}')
    return "\n".join(lines)


def true_false(qid, keyed) -> str:
    return "\n".join([f"  - id: {qid}", "    type: true_false", f'    prompt: "Statement {qid}."', "    options:",
                      f'      - {{id: "true", text: "True", {"correct: true, " if keyed else ""}explanation: "T."}}',
                      f'      - {{id: "false", text: "False", {"" if keyed else "correct: true, "}explanation: "F."}}'])


def with_exam(tmp_path, questions: list[str], draw: int, pass_mark: int):
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    course = content / "test-course" / "course.yaml"
    course.write_text(course.read_text().replace("draw: 2\n  pass_mark: 50", f"draw: {draw}\n  pass_mark: {pass_mark}"))
    for lang in ("kk", "ru"):
        (content / "test-course" / lang / "final-exam.yaml").write_text("questions:\n" + "\n".join(questions) + "\n")
    return content


def errors_of(content, rules):
    return [e.message for e in read_all(content, rules)[2]]


def test_the_fixture_bank_fails_both_assessment_rules(tmp_path):
    content = with_exam(tmp_path, [single(f"e{n}", 2, 0) for n in range(1, 5)], draw=2, pass_mark=50)
    found = errors_of(content, strict_for_fixture())
    assert any(m.startswith("option 1 is the keyed one in") and "at most 40% may share a position" in m
               for m in found), found
    blind = [m for m in found if "fixed answering pattern" in m]
    assert blind and "75.00%" in blind[0]  # 1 of 2 right passes, a coin flip per question: 1 - 1/4


def test_a_balanced_bank_of_forty_four_option_questions_passes_the_rules(tmp_path):
    content = with_exam(tmp_path, [single(f"e{n}", 4, n % 4) for n in range(40)], draw=20, pass_mark=70)
    assert [m for m in errors_of(content, strict_for_fixture()) if "keyed" in m or "pattern" in m] == []


def test_true_false_keyed_one_way_is_a_sure_win_for_always_false(tmp_path):
    """Positions are spread, but every statement is false: "always false" answers half the bank right."""
    questions = [single(f"s{n}", 4, n % 4) for n in range(20)] + [true_false(f"t{n}", False) for n in range(20)]
    content = with_exam(tmp_path, questions, draw=20, pass_mark=70)
    blind = [m for m in errors_of(content, strict_for_fixture()) if "fixed answering pattern" in m]
    assert blind, "the semantic pattern went unnoticed"
    balanced = [single(f"s{n}", 4, n % 4) for n in range(20)] + [true_false(f"t{n}", n % 2) for n in range(20)]
    content = with_exam(tmp_path / "again", balanced, draw=20, pass_mark=70)
    assert [m for m in errors_of(content, strict_for_fixture()) if "fixed answering pattern" in m] == []


def test_the_computed_chance_equals_counting_every_draw_and_every_guess():
    """The dynamic programme against brute force: every draw, every right/wrong outcome, on a small bank."""
    kinds = [("single", 4), ("single", 3), ("multiple", 4), ("true_false", 2), ("ordering", 3), ("single", 2)]
    questions = []
    for n, (kind, size) in enumerate(kinds):
        if kind == "ordering":
            questions.append(QuestionSource(f"q{n}", kind, {"order": ["x", "y", "z"]},
                                            {"kk": {"items": [{"id": i} for i in "xyz"]}}))
        else:
            options = [{"id": str(i)} for i in range(size)] if kind != "true_false" else [{"id": "true"},
                                                                                        {"id": "false"}]
            key = {"correct": ["0", "1"] if kind == "multiple" else ["true" if kind == "true_false" else "0"]}
            questions.append(QuestionSource(f"q{n}", kind, key, {"kk": {"options": options}}))
    exam = QuizSource("final-exam", pass_mark=60, draw=4, questions=questions)
    needed = passing_score(60, 4)
    best = 0.0
    for true_false in (None, "true", "false"):
        chances = _guess_chances(exam, true_false, None)
        total = 0.0
        for drawn in itertools.combinations(range(len(questions)), 4):
            for outcome in itertools.product((0, 1), repeat=4):
                if sum(outcome) >= needed:
                    total += math.prod(chances[i] if right else 1 - chances[i] for i, right in zip(drawn, outcome))
        best = max(best, total / math.comb(len(questions), 4))
    assert blind_pass_chance(exam) == pytest.approx(best, rel=1e-12)
    assert chances[2] == pytest.approx(1 / 6) and chances[4] == pytest.approx(1 / 6)  # C(4,2); 3!


def test_the_real_final_exams_are_well_below_one_percent():
    courses, _glossary, errors = read_all(ROOT / "courses" / "content")
    assert errors == []
    chances = {c.id: blind_pass_chance(c.final_exam) for c in courses if c.final_exam}
    assert set(chances) >= {"genai-for-everyone", "ai-civil-service"}
    assert all(chance < 0.01 for chance in chances.values()), chances


def test_parallel_requests_open_a_single_attempt_at_a_final_exam(app, session, loaded):
    """A burst of "open the exam" requests must not yield several attempts to compare scores across."""
    import threading

    from sqlmodel import col, select

    from gennation.courses.models import QuizAttempt
    user = register(session, RegistrationIn(username="burst", language="kk", **REGISTRATION))
    session.commit()
    exam, limits = loaded.quiz("final-exam"), service.ExamLimits(timedelta(minutes=10), 3)
    start, opened = threading.Barrier(8), []

    def sit() -> None:
        start.wait()
        with app.state.db.unit_of_work() as own:
            opened.append(service.open_attempt(own, user, exam, limits).id)

    threads = [threading.Thread(target=sit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 8 and len(set(opened)) == 1
    assert len(session.exec(select(QuizAttempt).where(col(QuizAttempt.graded_at).is_(None))).all()) == 1
