"""What generated text may be shown, and when (pure logic)."""
from gennation.courses.service import AnswerKey
from gennation.tutor.service import _clean, _echoes, _Gate


def feed(gate, text, size=4):
    shown = ""
    for start in range(0, len(text), size):
        shown += gate.add(text[start:start + size])
    return shown + gate.finish()


def test_lesson_answers_flow_at_once_in_the_right_language():
    gate = _Gate("ru", [])
    assert gate.add("Нейрон") == "Нейрон"
    assert feed(gate, " умножает входы на веса и сравнивает сумму с порогом.") .endswith("порогом.")
    assert not gate.drifted


def test_a_drifting_answer_is_cut_off():
    gate = _Gate("kk", [])
    feed(gate, "Нейрон умножает входы на веса и складывает, затем сравнивает сумму с порогом.")
    assert gate.drifted


def test_quiz_answers_are_shown_sentence_by_sentence_and_stop_at_a_leak():
    key = [AnswerKey(texts=["сравнивает сумму с порогом"])]
    gate = _Gate("ru", key)
    assert gate.add("Подумай, что делает нейрон с входами") == ""  # no whole sentence yet
    shown = gate.add(". Затем он сравнивает сумму с порогом. ")
    assert shown == "Подумай, что делает нейрон с входами. "
    assert gate.leaked


def test_copied_prompt_labels_are_removed_and_echoes_recognised():
    assert _clean("Текст («Урок»): Нейрон считает.\nВопрос: ещё", "ru") == "Нейрон считает."
    assert _echoes("Жасанды нейрон қалай шешім қабылдайды.", "Жасанды нейрон қалай шешім қабылдайды?", "kk")
    assert not _echoes("Нейрон кірістерді салмаққа көбейтіп қосады.", "Нейрон қалай шешеді?", "kk")
