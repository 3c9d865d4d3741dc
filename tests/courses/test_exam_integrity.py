"""Final exams of the real courses cannot be passed without knowledge, through the API as a learner sees it.

Three learners sit every final exam of courses/content: one answers by a fixed pattern without reading,
one collects whatever the graded attempts reveal and reuses it, one knows the answers. The pause between
attempts and the daily limit are lifted here (they are tested in test_assessments.py), so that each
strategy gets its 20 tries; the strategies themselves use only the API's answers.
"""
from itertools import combinations, permutations

import pytest
from fastapi.testclient import TestClient

from gennation.courses.service import get_course, load_courses
from gennation.courses.source import read_all
from gennation.platform.app import create_app
from gennation.platform.db_migrations import upgrade
from gennation.platform.settings import ROOT, Settings
from tests.conftest import api_token
from tests.courses.answering import api_answers

CONTENT = ROOT / "courses" / "content"
TRIES = 20
SOURCES, _GLOSSARY, _ERRORS = read_all(CONTENT)
FINALS = [course.id for course in SOURCES if course.final_exam]


@pytest.fixture(scope="module")
def exam_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exam-db")
    settings = Settings(database_url=f"sqlite:///{folder / 'db.sqlite'}", secret_key="k" * 40, var_dir=folder,
                        content_dir=CONTENT, tutor_model_path=folder / "no-model.gguf",
                        exam_cooldown_minutes=0, exam_attempts_per_day=10_000).resolved()
    upgrade(settings.database_url)
    app = create_app(settings)
    with app.state.db.unit_of_work() as session:
        load_courses(session, SOURCES)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def api(exam_app):
    with TestClient(exam_app) as client:
        yield client


def sit(api, headers, course: str, answer, quiz: str = "final-exam") -> dict:
    """One attempt: open it, answer each question with `answer(question)`, return the graded result."""
    started = api.post(f"/api/v1/courses/{course}/quizzes/{quiz}/attempts", headers=headers,
                       params={"lang": "ru"})
    assert started.status_code == 200, started.text
    started = started.json()
    answers = {q["id"]: answer(q) for q in started["questions"]}
    graded = api.post(f"/api/v1/attempts/{started['attempt_id']}", json={"answers": answers}, headers=headers,
                      params={"lang": "ru"})
    assert graded.status_code == 200, graded.text
    return {"questions": started["questions"], "answers": answers, **graded.json()}


def first_pattern(question: dict):
    """The issue's blind pattern: the first option, "false", the first three, the items as shown, zero."""
    ids = [o["id"] for o in question["options"]]
    kind = question["kind"]
    return False if kind == "true_false" else 0 if kind == "numeric" else ids[:3] if kind == "multiple" \
        else ids[0] if kind == "single" else ids


def last_pattern(question: dict):
    """The mirror image: the last option, "true", the last two, the items reversed, fifty."""
    ids = [o["id"] for o in question["options"]]
    kind = question["kind"]
    return True if kind == "true_false" else 50 if kind == "numeric" else ids[-2:] if kind == "multiple" \
        else ids[-1] if kind == "single" else ids[::-1]


@pytest.mark.parametrize("course", FINALS)
@pytest.mark.parametrize("pattern", [first_pattern, last_pattern], ids=["first", "last"])
def test_a_fixed_answering_pattern_fails_every_final_exam_in_20_tries(api, course, pattern):
    headers = api_token(api, f"blind-{course}-{pattern.__name__}"[:40])
    results = [sit(api, headers, course, pattern) for _ in range(TRIES)]
    assert not any(r["passed"] for r in results), [r["score"] for r in results]
    assert max(r["score"] for r in results) < results[0]["pass_mark"]


def named(question: dict, value):
    """An answer in option texts, as the harvester recognises it in the next attempt (tokens change)."""
    text = {o["id"]: o["text"] for o in question["options"]}
    if question["kind"] == "ordering":
        return tuple(text[v] for v in value)
    if question["kind"] == "multiple":
        return tuple(sorted(text[v] for v in value))
    return text[value] if isinstance(value, str) else value


class Harvester:
    """Remembers, per question prompt, every answer the graded attempts showed to be right or wrong, and
    answers with what it knows, or else with an answer it has not yet seen fail."""

    def __init__(self):
        self.right: dict[str, object] = {}  # prompt: the answer, in option texts
        self.wrong: dict[str, set] = {}

    @staticmethod
    def candidates(question: dict) -> list:
        texts = sorted(o["text"] for o in question["options"])
        if question["kind"] in ("single", "true_false"):
            return texts
        if question["kind"] == "multiple":
            return [c for k in range(len(texts), 0, -1) for c in combinations(texts, k)]
        if question["kind"] == "ordering":
            return list(permutations(texts))
        return [0, 1, 2, 3, 5, 10, 20, 25, 50, 75, 100]

    def answer(self, question: dict):
        prompt, candidates = question["prompt"], self.candidates(question)
        if prompt in self.right:
            guess = self.right[prompt]
        else:
            guess = next((c for c in candidates if c not in self.wrong.get(prompt, set())), candidates[0])
        token = {o["text"]: o["id"] for o in question["options"]}
        if question["kind"] == "numeric":
            return guess
        return token[guess] if isinstance(guess, str) else [token[t] for t in guess]

    def learn(self, result: dict) -> None:
        questions = {q["id"]: q for q in result["questions"]}
        for f in result["feedback"]:  # whatever a graded attempt reveals, question by question
            question = questions[f["id"]]
            if "answer" in f["key"]:
                self.right[question["prompt"]] = f["key"]["answer"]
            elif f["key"]:
                keyed = f["key"].get("order") or f["key"]["correct"]
                self.right[question["prompt"]] = named(question, keyed if question["kind"] in ("multiple", "ordering")
                                                       else keyed[0])
            elif f["correct"]:
                self.right[question["prompt"]] = named(question, f["given"])
            else:
                self.wrong.setdefault(question["prompt"], set()).add(named(question, f["given"]))
        if result["score"] == 0:  # a zero score says that every answer was wrong
            for qid, value in result["answers"].items():
                self.wrong.setdefault(questions[qid]["prompt"], set()).add(named(questions[qid], value))


@pytest.mark.parametrize("course", FINALS)
def test_collecting_what_graded_attempts_reveal_does_not_pass_a_final_exam_in_20_tries(api, course):
    headers = api_token(api, f"harvest-{course}"[:40])
    harvester = Harvester()
    scores = []
    for _ in range(TRIES):
        result = sit(api, headers, course, harvester.answer)
        assert not result["passed"], scores
        assert result["feedback"] == [] and result["review"]  # only the score and the topics to review
        harvester.learn(result)
        scores.append(result["score"])
    assert max(scores) < result["pass_mark"] and harvester.right == {}


@pytest.mark.parametrize("course", FINALS)
def test_the_same_harvester_passes_a_module_quiz_which_shows_its_key(api, course):
    """The control: where the feedback teaches (a module quiz), collecting it works at once."""
    headers = api_token(api, f"control-{course}"[:40])
    harvester = Harvester()
    quiz = next(source.modules[0].quiz.id for source in SOURCES if source.id == course)
    first = sit(api, headers, course, harvester.answer, quiz)
    harvester.learn(first)
    second = sit(api, headers, course, harvester.answer, quiz)
    assert second["passed"] and second["score"] == 100.0, (first["score"], second["score"])


def knowing(course: str, session):
    """Answers a learner who learnt the course gives: the keyed options, by their texts."""
    exam = get_course(session, course).final_exam

    def answer(question: dict):
        item = next(q for q in exam.questions if q.slug == question["id"])
        return api_answers({"questions": [question]}, exam, "ru",
                           {item.slug: _key_answer(item)})["answers"][item.slug]
    return answer


def _key_answer(item):
    key = item.key
    if "order" in key:
        return key["order"]
    if "answer" in key:
        return key["answer"]
    return key["correct"][0] if item.kind in ("single", "true_false") else key["correct"]


@pytest.mark.parametrize("course", FINALS)
def test_a_learner_who_knows_the_answers_passes_first_time_and_then_sees_the_key(api, exam_app, course):
    headers = api_token(api, f"knows-{course}"[:40])
    with exam_app.state.db.session() as session:
        result = sit(api, headers, course, knowing(course, session))
    assert result["passed"] and result["score"] == 100.0 and result["review"] == []
    assert len(result["feedback"]) == len(result["questions"]) and all(f["correct"] for f in result["feedback"])
