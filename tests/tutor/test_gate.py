"""What generated text may be shown, and when (pure logic, no model)."""
from gennation.courses.service import AnswerKey
from gennation.tutor import checks
from gennation.tutor.service import _clean, _Gate

PASSAGE_RU = ("Искусственный нейрон получает входы, умножает каждый на вес, складывает и сравнивает сумму с порогом. "
              "Вес показывает, насколько важен вход.")
PASSAGE_KK = ("Жасанды нейрон кірістерді алып, әрқайсысын салмағына көбейтеді, қосады да, қосындыны шекпен "
              "салыстырады. Салмақ кірістің маңызын көрсетеді.")
SUPPORT_RU = checks.support_set("ru", PASSAGE_RU)
SUPPORT_KK = checks.support_set("kk", PASSAGE_KK)


def feed(gate, text, size=4):
    shown = ""
    for start in range(0, len(text), size):
        shown += gate.add(text[start:start + size])
    return shown + gate.finish()


def test_checked_sentences_flow_one_at_a_time():
    gate = _Gate("ru", [], "Как нейрон решает?", SUPPORT_RU)
    assert gate.add("Нейрон умножает входы на веса") == ""  # no whole sentence yet
    assert gate.add(" и складывает их. Потом") == "Нейрон умножает входы на веса и складывает их."
    assert feed(gate, " он сравнивает сумму с порогом. А что важнее?") == \
        " Потом он сравнивает сумму с порогом. А что важнее?"
    assert gate.statements == 2 and gate.complete  # a guiding question ends the answer


def test_unsupported_sentences_are_left_out_and_counted():
    gate = _Gate("ru", [], "Как нейрон решает?", SUPPORT_RU)
    shown = feed(gate, "Нейрон складывает входы и сравнивает сумму с порогом. "
                       "Футбол в Астане очень популярен среди школьников летом.")
    assert shown == "Нейрон складывает входы и сравнивает сумму с порогом."
    assert [d.split(":")[0] for d in gate.dropped] == ["unsupported"]


def test_an_echo_of_the_question_is_not_shown():
    question = "Чат-бот неге кейде қате немесе ойдан шығарылған жауап береді?"
    gate = _Gate("kk", [], question, checks.support_set("kk", question, PASSAGE_KK))
    assert feed(gate, "Мектеп кітапханасына барып, чат-бот неге кейде қате немесе ойдан шығарылған жауап береді.") == ""
    assert gate.dropped and gate.dropped[0].startswith("echo")


def test_a_copy_of_the_passage_is_not_a_simpler_wording():
    gate = _Gate("ru", [], "Как нейрон решает?", SUPPORT_RU, source=PASSAGE_RU)
    assert feed(gate, "Искусственный нейрон получает входы, умножает каждый на вес. "
                      "Нейрон складывает входы и смотрит на порог.") == \
        "Нейрон складывает входы и смотрит на порог."
    assert gate.dropped[0].startswith("copy")


def test_a_drifting_answer_is_cut_off():
    gate = _Gate("kk", [], "Нейрон қалай шешеді?", SUPPORT_KK)
    feed(gate, "Нейрон умножает входы на веса и складывает, затем сравнивает сумму с порогом.")
    assert gate.drifted and gate.kept == []


def test_words_kazakh_lessons_never_use_are_not_shown_as_kazakh():
    vocabulary = checks.support_set("kk", PASSAGE_KK, "Нейрон шешім қабылдайды. Бұл қарапайым әрекет.")
    gate = _Gate("kk", [], "Нейрон қалай шешеді?", SUPPORT_KK | vocabulary, vocabulary)
    shown = feed(gate, "Нейрон кірістерді салмағына көбейтеді. Көштүн өзгөчө бүтүндөй маанилүү нерсени эсептейт.")
    assert shown == "Нейрон кірістерді салмағына көбейтеді."
    assert any(d.startswith(("not_real", "unsupported", "language")) for d in gate.dropped)


def test_quiz_answers_stop_at_a_leak():
    key = [AnswerKey(texts=["сравнивает сумму с порогом"])]
    gate = _Gate("ru", key, "Какой ответ верный?")
    assert gate.add("Нейрон сравнивает сумму с порогом") == ""  # no whole sentence yet
    assert gate.add(". Подумай, почему?") == "" and gate.leaked
    hint = _Gate("ru", key, "Какой ответ верный?")
    assert feed(hint, "Подумай, что делает нейрон с входами? Затем он сравнивает сумму с порогом. ") == \
        "Подумай, что делает нейрон с входами?"
    assert hint.complete and not hint.leaked  # one guiding question, and the answer ends before the key


def test_copied_prompt_labels_are_removed():
    assert _clean("Текст («Урок»): Нейрон считает.", "ru") == "Нейрон считает."
    assert _clean("Мүтін: Деректерді үш түске бөледі.", "kk") == "Деректерді үш түске бөледі."
    gate = _Gate("ru", [], "Как нейрон решает?", SUPPORT_RU)
    assert feed(gate, "Нейрон складывает входы с весами.\nВопрос: а что дальше?") == "Нейрон складывает входы с весами."
    assert gate.complete  # the model began a new prompt: the answer ends there


def test_a_near_copy_with_a_word_changed_is_not_a_simpler_wording():
    source = ("Сөздікте: жасанды интеллект — Бұрын тек адамның қолынан келетін міндеттерді, мысалы, суретті тануды, "
              "сөйлеуді түсінуді орындайтын бағдарламалар жасайтын информатика саласы.")
    assert checks.near_copy("Бырын тек адамның қолынан келетін міндеттерді, мысалы, суретті тануды, сөйлеуді "
                            "түсінуді орындайтын бағдарламалар.", source)
    assert not checks.near_copy("ЖИ суретті таниды, сөзді түсінеді: бұрын мұны тек адам істей алатын.", source)


def test_a_sentence_that_says_the_question_back_is_not_shown():
    gate = _Gate("ru", [], "Как искусственный нейрон принимает решение?", SUPPORT_RU, source=PASSAGE_RU)
    assert feed(gate, "Искусственный нейрон принимает решение, умножая каждый на вес и складывает. "
                      "Нейрон складывает входы и смотрит на порог.") == "Нейрон складывает входы и смотрит на порог."
    assert gate.dropped[0].startswith("restates")
    # the term of a "what is X" question may open a sentence; the model's own definition of it may not
    assert not checks.restates("Большая языковая модель пишет текст.", "Что такое большая языковая модель?", "ru",
                               "большая языковая модель")
    assert checks.redefines("Фишинг — это метод, который позволяет мошенникам писать сообщения.", "фишинг", "ru")
    assert not checks.redefines("Мошенники пишут письма без ошибок.", "фишинг", "ru")
