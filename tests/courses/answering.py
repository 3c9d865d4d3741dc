"""Answering quizzes as a learner who knows the answers: by the texts of the options, as a person reads
them. Answers are written with the option ids of the course source; the page or the API names the
options of each attempt by its own tokens, and these helpers find them by their texts."""
from __future__ import annotations

import html as html_lib
import re

from gennation.courses.outline import QuizOutline
from gennation.platform.i18n import content_language

LABEL_RE = re.compile(r'<label for="q-([a-z0-9-]+)-([0-9a-f]{6})">([^<]*)</label>')


def page_choices(html: str) -> dict[str, dict[str, str]]:
    """{question: {choice text: token}} as a quiz page shows them."""
    found: dict[str, dict[str, str]] = {}
    for slug, token, text in LABEL_RE.findall(html):
        found.setdefault(slug, {})[html_lib.unescape(text)] = token
    return found


def api_choices(started: dict) -> dict[str, dict[str, str]]:
    """{question: {choice text: token}} of an attempt opened through the API."""
    return {q["id"]: {o["text"]: o["id"] for o in q["options"]} for q in started["questions"]}


def _in_tokens(quiz: QuizOutline, lang: str, choices: dict[str, dict[str, str]], answers: dict) -> dict:
    """The answers of the questions this attempt shows, each choice id replaced by its token."""
    clang = content_language(lang)
    out = {}
    for question in quiz.questions:
        if question.slug not in answers or (question.choices and question.slug not in choices):
            continue  # not drawn for this attempt
        text = question.text[clang]
        texts = {c["id"]: c["text"] for c in text.get("options") or text.get("items") or []}
        value = answers[question.slug]

        def token(choice: str) -> str:
            return choices[question.slug].get(texts.get(choice, ""), choice)

        if not question.choices or isinstance(value, bool):
            out[question.slug] = value
        elif isinstance(value, list):
            out[question.slug] = [token(v) for v in value]
        else:
            out[question.slug] = token(value)
    return out


def api_answers(started: dict, quiz: QuizOutline, lang: str, answers: dict) -> dict:
    """The body of an API submission answering `answers` (written with source ids)."""
    return {"answers": _in_tokens(quiz, lang, api_choices(started), answers)}


def page_form(html: str, quiz: QuizOutline, lang: str, answers: dict) -> dict:
    """Form fields answering `answers` (written with source ids) on a quiz page."""
    form = {}
    for slug, value in _in_tokens(quiz, lang, page_choices(html), answers).items():
        if quiz.questions[[q.slug for q in quiz.questions].index(slug)].kind == "ordering":
            form.update({f"q-{slug}-{token}": str(place) for place, token in enumerate(value, start=1)})
        else:
            form[f"q-{slug}"] = value if isinstance(value, list) else str(value)
    return form


def attempt_answers(attempt, answers: dict) -> dict:
    """Answers written with source ids, in the tokens of `attempt` (for tests of the service itself)."""
    out = {}
    for slug, value in answers.items():
        token_of = {choice: token for token, choice in attempt.layout.get(slug, [])}
        if isinstance(value, list):
            out[slug] = [token_of.get(v, v) for v in value]
        else:
            out[slug] = token_of.get(value, value) if isinstance(value, str) else value
    return out


PERFECT_EXAM = {f"e{n}": "a" for n in range(1, 5)}


def complete_test_course(client, course, headers: dict) -> None:
    """Complete the fixture course through the API: every lesson read, every quiz and the final test passed."""
    from tests.courses.test_service import PERFECT
    for lesson in course.lessons:
        client.post(f"/api/v1/courses/test-course/lessons/{lesson.slug}/read", headers=headers)
    for quiz, answers in (("basics-quiz", PERFECT), ("practice-quiz", {"p1": "a", "p2": "true"}),
                          ("final-exam", PERFECT_EXAM)):
        attempt = client.post(f"/api/v1/courses/test-course/quizzes/{quiz}/attempts", headers=headers,
                              params={"lang": "ru"}).json()
        graded = client.post(f"/api/v1/attempts/{attempt['attempt_id']}", headers=headers,
                             json=api_answers(attempt, course.quiz(quiz), "ru", answers))
        assert graded.json()["passed"], graded.text
