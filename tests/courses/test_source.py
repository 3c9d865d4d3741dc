"""The validator finds every kind of gap and names the file and line."""
import shutil
from pathlib import Path

import pytest

from gennation.courses.source import STRICT, count_words, read_all
from tests.conftest import FIXTURE_CONTENT, RELAXED


@pytest.fixture
def content(tmp_path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, target)
    return target


def messages(content: Path, rules=RELAXED) -> list[str]:
    return [f"{e.path.relative_to(content)}:{e.line}: {e.message}" for e in read_all(content, rules)[2]]


def test_fixture_course_is_valid_and_complete(content):
    courses, glossary, errors = read_all(content, RELAXED)
    assert errors == []
    course = courses[0]
    assert [m.id for m in course.modules] == ["basics", "practice"]
    assert [len(m.quiz.questions) for m in course.modules] == [5, 2]
    assert course.final_exam.draw == 2 and len(course.final_exam.questions) == 4
    assert set(glossary) == {"kk", "ru"}


def test_missing_lesson_in_one_language_is_reported(content):
    (content / "test-course/ru/practice/only-lesson.md").unlink()
    assert "test-course/ru/practice/only-lesson.md:0: lesson file is missing" in messages(content)


def test_lesson_outside_the_word_range_names_file_and_line(content):
    found = messages(content, STRICT)
    assert any(m.startswith("test-course/kk/basics/first-steps.md:4: lesson has") and "400 to 900" in m for m in found)


def test_question_without_explanation_is_reported_with_its_line(content):
    quiz = content / "test-course/kk/practice/quiz.yaml"
    quiz.write_text(quiz.read_text().replace('explanation: "No."}', "}", 1))
    found = messages(content)
    assert any(m.startswith("test-course/kk/practice/quiz.yaml:") and "'explanation'" in m for m in found)


def test_keys_that_differ_between_languages_are_reported(content):
    quiz = content / "test-course/ru/practice/quiz.yaml"
    text = quiz.read_text().replace('correct: true, explanation: "Yes."}', 'explanation: "Yes."}', 1)
    quiz.write_text(text.replace('{id: b, text: "B", explanation: "No."}', '{id: b, text: "B", correct: true, explanation: "No."}', 1))
    assert "test-course/ru/practice/quiz.yaml:0: question 'p1': type, options, key or module differ from the Kazakh file" in messages(content)


def test_single_choice_with_two_correct_options_is_reported(content):
    quiz = content / "test-course/kk/practice/quiz.yaml"
    quiz.write_text(quiz.read_text().replace('{id: b, text: "B", explanation: "No."}', '{id: b, text: "B", correct: true, explanation: "No."}', 1))
    assert any("exactly one option must be correct (found 2)" in m for m in messages(content))


def test_unknown_glossary_term_and_missing_image_are_reported(content):
    lesson = content / "test-course/ru/basics/second-steps.md"
    lesson.write_text(lesson.read_text().replace("glossary:data", "glossary:quantum").replace("loop.svg", "gone.svg"))
    found = messages(content)
    assert "test-course/ru/basics/second-steps.md:4: glossary term 'quantum' is not in glossary.ru.yaml" in found
    assert "test-course/ru/basics/second-steps.md:6: image 'images/gone.svg' not found in test-course/images/" in found


def test_invalid_yaml_reports_the_line(content):
    (content / "test-course/kk/course.yaml").write_text("title: ok\nsummary: [unclosed\nmodules: {}\n")
    assert any(m.startswith("test-course/kk/course.yaml:") and "invalid YAML" in m for m in messages(content))


def test_glossary_ids_must_match_between_languages(content):
    (content / "glossary.ru.yaml").write_text("terms:\n  - id: other\n    term: x\n    definition: y\n")
    found = messages(content)
    assert "glossary.ru.yaml:0: term 'data' is missing in this language" in found


def test_empty_lesson_and_unlisted_lesson_file_are_reported(content):
    (content / "test-course/kk/practice/only-lesson.md").write_text("---\ntitle: Бос\n---\n")
    (content / "test-course/kk/practice/stray.md").write_text("---\ntitle: x\n---\ntext\n")
    found = messages(content)
    assert "test-course/kk/practice/only-lesson.md:4: lesson is empty" in found
    assert "test-course/kk/practice/stray.md:0: lesson file is not listed in course.yaml" in found


def test_final_exam_bank_must_be_larger_than_the_draw(content):
    found = messages(content, RELAXED.__class__(lesson_words=(5, 900), min_quiz_questions=2, min_exam_bank=40))
    assert "test-course/kk/final-exam.yaml:1: needs at least 40 questions, has 4" in found


def test_words_are_counted_without_markdown_syntax():
    assert count_words("Бір [екі](glossary:three-four) **бес**.\n\n::: key-ideas\n- алты\n:::\n") == 4


def test_glossary_link_text_must_be_a_form_of_the_term(content):
    lesson = content / "test-course/kk/basics/first-steps.md"
    lesson.write_text(lesson.read_text().replace("[Деректер](glossary:data)", "[мәліметтер](glossary:data)"))
    found = messages(content)
    assert "test-course/kk/basics/first-steps.md:4: link text 'мәліметтер' does not use the glossary term 'деректер' (data)" in found


def test_inflected_forms_of_a_term_are_accepted():
    from gennation.courses.source import uses_term
    assert uses_term("машиналық оқытудың", "машиналық оқыту")
    assert uses_term("деректерді", "деректер") and uses_term("данных", "данные") and uses_term("слои", "слой")
    assert uses_term("запросы", "запрос (промпт)") and not uses_term("ЖИ", "жасанды интеллект")


def test_questions_a_lesson_answers_are_read_and_checked(content):
    for lang, asked in (("kk", ["Алғашқы қадам деген не?"]), ("ru", ["Что такое первый шаг?"])):
        path = content / f"test-course/{lang}/basics/first-steps.md"
        path.write_text(path.read_text().replace("---\n", f"---\nquestions: [\"{asked[0]}\"]\n", 1))
    courses, _glossary, errors = read_all(content, RELAXED)
    assert errors == []
    assert courses[0].modules[0].lessons[0].questions == {"kk": ["Алғашқы қадам деген не?"],
                                                          "ru": ["Что такое первый шаг?"]}
    ru = content / "test-course/ru/basics/first-steps.md"
    ru.write_text(ru.read_text().replace('questions: ["Что такое первый шаг?"]',
                                         'questions: ["Что такое первый шаг?", "без вопроса"]'))
    found = messages(content)
    assert "test-course/ru/basics/first-steps.md:1: front matter question 'без вопроса' must be 8 to 200 " \
           "characters and end with '?'" in found
    ru.write_text(ru.read_text().replace(', "без вопроса"', ', "Зачем нужен второй шаг?"'))
    assert "test-course/kk/basics/first-steps.md:1: front matter 'questions' must list as many questions in " \
           "every language (kk: 1, ru: 2)" in messages(content)
