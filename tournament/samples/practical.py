"""One sample practical task per category of the sample season, with data generated here.

Every task is drawn from its own numpy random generator seeded with ``(seed, task number)``, so the
same seed gives byte-identical CSV files, labels and private split. Each generator writes down a
simple, documented rule with noise (see README.md), so the target is learnable but not perfectly:
the starter script in ``starters/`` beats the trivial guess, and a thoughtful newcomer beats the starter.

``build_all`` also runs each starter's ``predict`` on the generated files and scores it on the private
rows with scikit-learn: that is ``baseline_score`` (never hard-coded).
"""
from __future__ import annotations

import copy
import csv
import importlib.util
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

STARTERS = Path(__file__).parent / "starters"
CATEGORIES = ("grades-5-8", "grades-9-11", "tvet", "university", "adults")
METRICS = ("accuracy", "macro_f1", "mae", "rmse", "roc_auc")
HIGHER_IS_BETTER = {"accuracy": True, "macro_f1": True, "roc_auc": True, "mae": False, "rmse": False}
PRIVATE_SHARE = 0.6
KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


@dataclass
class SampleTask:
    slug: str                      # e.g. "late-bus"
    category: str                  # one of CATEGORIES
    title: dict[str, str]          # {"kk": ..., "ru": ...}
    description: dict[str, str]    # Markdown, kk and ru
    metric: str                    # accuracy | macro_f1 | mae | rmse | roc_auc
    id_column: str
    target_column: str
    classes: list[str] | None      # allowed labels for accuracy/macro_f1; None otherwise
    value_range: tuple[float, float] | None  # allowed prediction range (roc_auc: (0, 1)); None for classes
    train_csv: str                 # CSV text: id, features..., target
    test_csv: str                  # CSV text: id, features... (no target)
    labels: dict[str, str | float]  # test id -> true target (hidden from participants)
    private_ids: list[str]         # ~60 % of test ids, chosen at random with the seed
    starter: str                   # file name in starters/ (a Python script)
    baseline_score: float          # what the starter scores (private rows, same metric via scikit-learn)


# ------------------------------------------------------------------------------------------ scoring

def score(metric: str, y_true: Sequence, y_pred: Sequence) -> float:
    """The task's metric, computed with scikit-learn."""
    from sklearn import metrics

    if metric == "accuracy":
        return float(metrics.accuracy_score(y_true, y_pred))
    if metric == "macro_f1":
        return float(metrics.f1_score(y_true, y_pred, average="macro"))
    if metric == "mae":
        return float(metrics.mean_absolute_error(y_true, y_pred))
    if metric == "rmse":
        return float(metrics.root_mean_squared_error(y_true, y_pred))
    if metric == "roc_auc":
        return float(metrics.roc_auc_score(y_true, y_pred))
    raise ValueError(f"unknown metric {metric!r}")


def score_predictions(task: SampleTask, predictions: Mapping[str, str | float], ids: Sequence[str]) -> float:
    """Score ``predictions`` (id -> predicted value) of ``task`` on the rows ``ids``."""
    y_true = [task.labels[i] for i in ids]
    y_pred = [predictions[i] if task.classes else float(predictions[i]) for i in ids]
    return score(task.metric, y_true, y_pred)


def read_predictions(task: SampleTask, csv_text: str) -> dict[str, str | float]:
    """A predictions CSV (``id_column,target_column``) as id -> value, the way the starters write it."""
    rows = csv.DictReader(io.StringIO(csv_text))
    return {row[task.id_column]: (row[task.target_column] if task.classes else float(row[task.target_column]))
            for row in rows}


# ------------------------------------------------------------------------------------------ helpers

def _rng(seed: int, number: int) -> np.random.Generator:
    return np.random.default_rng([seed, number])


def _csv(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _ids(rng: np.random.Generator, prefix: str, n: int) -> list[str]:
    """Ids in random order (row order says nothing about the target)."""
    return [f"{prefix}-{k:05d}" for k in (rng.permutation(n) + 1)]


def _private(rng: np.random.Generator, test_ids: list[str]) -> list[str]:
    chosen = set(rng.choice(len(test_ids), size=round(PRIVATE_SHARE * len(test_ids)), replace=False).tolist())
    return [tid for k, tid in enumerate(test_ids) if k in chosen]


@dataclass
class _Data:
    """What a generator returns: columns (id first, target last) and the rows split into train and test."""
    header: list[str]
    train: list[list]
    test: list[list]


def _split_files(data: _Data) -> tuple[str, str, dict[str, str | float], list[str]]:
    train_csv = _csv(data.header, data.train)
    test_csv = _csv(data.header[:-1], [row[:-1] for row in data.test])
    labels = {row[0]: row[-1] if isinstance(row[-1], str) else float(row[-1]) for row in data.test}
    return train_csv, test_csv, labels, [row[0] for row in data.test]


def _f(value: float, digits: int) -> float:
    """A float rounded the way it is written in the CSV (so labels equal the CSV's text)."""
    return float(f"{value:.{digits}f}") + 0.0   # + 0.0: never "-0.0"


# ------------------------------------------------------------------------------- 1. late bus (5-8)

BUS_ROUTES = {  # route -> extra lateness (logit): the long routes through the centre are late more often
    "4": 0.9, "10": 0.2, "12": -0.3, "21": 0.6, "32": -0.6, "40": 0.0, "46": 0.4, "54": -0.2,
}
BUS_INTERCEPT, BUS_SCALE = -1.6, 2.0   # scale > 1: clearer patterns, fewer coin flips
BUS_CENTRE = {"4", "21", "46"}   # through the centre: rush hours hit them harder
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUS_WEATHER = {"clear": 0.0, "cloudy": 0.2, "rain": 1.1, "snow": 2.0, "blizzard": 3.5}


def _late_bus(rng: np.random.Generator, n_train: int = 2000, n_test: int = 1000) -> _Data:
    n = n_train + n_test
    routes = [str(r) for r in rng.choice(list(BUS_ROUTES), size=n)]
    day = rng.integers(0, 7, size=n)
    hour = rng.integers(6, 23, size=n)
    month = rng.integers(1, 13, size=n)
    # Astana: about -14 °C in January, +21 °C in July, with day-to-day swings.
    temp = 3.5 - 17.5 * np.cos(2 * np.pi * (month - 1) / 12) + rng.normal(0, 5, size=n)
    weather = []
    for t in temp:
        if t < 0:
            weather.append(str(rng.choice(["clear", "cloudy", "snow", "blizzard"], p=[0.35, 0.3, 0.25, 0.1])))
        else:
            weather.append(str(rng.choice(["clear", "cloudy", "rain"], p=[0.5, 0.3, 0.2])))
    rows = []
    ids = _ids(rng, "BUS", n)
    for k in range(n):
        weekday = day[k] < 5
        rush = weekday and (7 <= hour[k] <= 9 or 17 <= hour[k] <= 19)
        logit = BUS_INTERCEPT + 1.5 * BUS_ROUTES[routes[k]] + BUS_WEATHER[weather[k]]
        logit += (2.6 if routes[k] in BUS_CENTRE else 1.3) if rush else 0.0
        logit += 1.0 if (day[k] == 4 and hour[k] >= 16) else 0.0       # Friday evening
        logit -= 1.0 if not weekday else 0.0                           # quiet weekends
        logit += 1.5 if temp[k] < -25 else 0.0                         # frozen engines and doors
        late = rng.random() < _sigmoid(BUS_SCALE * logit)
        rows.append([ids[k], routes[k], WEEKDAYS[day[k]], int(hour[k]), weather[k], int(np.rint(temp[k])),
                     "late" if late else "on_time"])
    return _Data(["id", "route", "day_of_week", "hour", "weather", "temperature_c", "status"],
                 rows[:n_train], rows[n_train:])


# ------------------------------------------------------------------------------ 2. SMS spam (9-11)
# Short messages from templates in Kazakh, Russian and the mixed speech heard every day. Phone numbers
# are masked as [phone], links use the reserved domain .example: no real number, site or person.
# Hard cases on purpose: ham that sounds like an offer (a friend's free tickets, a bank's notice, a
# one-time code), spam that sounds like a friend ("it's me, new number, send money"), and ~2 % of labels
# flipped, as in any hand-labelled set.

SMS_HAM = {
    "kk": [
        "{greet_kk}бүгін кешке үйге қашан келесің?",
        "Анам нан мен сүт алып кел деп тұр, дүкенге соға кетші",
        "Ертеңгі жиналыс {day_kk} күніне ауыстырылды",
        "Туған күніңмен, {name}! Бақытты бол, армандарың орындалсын!",
        "Мен автобустамын, {mins} минуттан кейін жетемін",
        "Математикадан үй жұмысын жіберші, өтінемін",
        "Кешір, қазір сөйлесе алмаймын, кейінірек хабарласамын",
        "Әжеңе сәлем айт, демалыста ауылға барамыз",
        "{greet_kk}футболға барасың ба? Кешкі алтыда стадионның жанында кездесеміз",
        "Тегін концертке билет тауып алдым, бірге барайық па?",
        "Дүкенде жеңілдік бар екен, сүт арзандапты. Саған да алайын ба?",
        "Мына бейнені қарашы, күлкілі екен: {hamlink}",
        "Кітапханадан алған кітабыңды ертең қайтарып берші",
        "Қай жердесің? Біз сені кіреберісте күтіп тұрмыз",
        "Ауа райы суытады дейді, жылы киініп ал",
        "Бүгін жаттығу болмайды, жаттықтырушы ауырып қалыпты",
        "Рахмет, бәрі жақсы! Өзің қалайсың?",
        "Дәрігерге жазылдым, {day_kk} күні барамын",
        "Такси шақырдым, {mins} минуттан кейін шық",
        "Ата-аналар жиналысы {day_kk} күні кешкі алтыда болады",
        "{name}, ертең сабаққа кітапты ұмытпа",
        "Жеңіл жүріп, жеңіл қайт! Жеткен соң хабарлас",
        "Құттықтаймыз, {name}! Жарыста бірінші орын алыпсың, жарайсың!",
        "Пәтерақыны {day_kk} күні төлеймін, {amount} ₸ дайын",
        "Жаңа нөмірім: [phone]. Ескісін өшіріп таста",
        "Сәлемдемең поштаға келіпті, мына жерден қарап ал: {hamlink}",
        "Дүкенде {pct}% жеңілдік басталыпты, сенбіде бірге барайық",
        "Ұтыс ойынының нәтижесі мектеп сайтында шықты: {hamlink}",
    ],
    "ru": [
        "{greet_ru}во сколько ты сегодня будешь дома?",
        "Мама просит купить хлеб и молоко по дороге",
        "Завтрашнее собрание перенесли на {day_ru}",
        "С днём рождения, {name}! Счастья и удачи!",
        "Я в автобусе, буду через {mins} минут",
        "Скинь домашку по математике, пожалуйста",
        "Извини, сейчас не могу говорить, перезвоню позже",
        "Передай привет бабушке, на выходных едем в аул",
        "{greet_ru}идёшь на футбол? Встречаемся в шесть у стадиона",
        "Достал бесплатные билеты на концерт, пойдёшь со мной?",
        "В магазине скидка на молоко, тебе тоже взять?",
        "Посмотри это видео, очень смешное: {hamlink}",
        "Верни, пожалуйста, завтра книгу из библиотеки",
        "Ты где? Мы ждём тебя у входа",
        "Говорят, похолодает, оденься теплее",
        "Сегодня тренировки не будет, тренер заболел",
        "Спасибо, всё хорошо! Как ты сам?",
        "Записался к врачу на {day_ru}",
        "Вызвал такси, выходи через {mins} минут",
        "Родительское собрание в {day_ru} в шесть вечера",
        "{name}, не забудь завтра учебник",
        "Счастливого пути! Напиши, как доедешь",
        "Поздравляю, {name}! Первое место на соревнованиях, молодец!",
        "За квартиру заплачу в {day_ru}, {amount} ₸ уже отложил",
        "Мой новый номер: [phone]. Старый удали",
        "Твоя посылка пришла на почту, трек тут: {hamlink}",
        "В магазине началась скидка {pct}%, пойдём в субботу вместе",
        "Итоги розыгрыша выложили на сайте школы: {hamlink}",
    ],
    "mixed": [
        "Сәлем, сегодня встреча болады ма?",
        "Мам, мен кешігемін, автобус опаздывает",
        "Братан, ертең футбол в семь, келесің бе?",
        "Короче, мен дүкендемін, что взять?",
        "Рахмет за помощь, ертең созвонимся",
        "Апай, домашку қашан сдавать?",
        "Жаным, я уже еду, {mins} минуттан кейін боламын",
        "{name}, кеше түсірген фоткаларды скинь, пожалуйста",
        "Ой, забыла, ертең сабақ бар ма?",
        "Скидка на молоко, саған да взять?",
        "Мынау менің жаңа номерім: [phone], сохрани",
    ],
}
SMS_SPAM = {
    "kk": [
        "Құттықтаймыз! Сіз {prize_kk} ұтып алдыңыз! Сыйлықты алу үшін сілтемеге өтіңіз: {link}",
        "Тек бүгін! Барлық тауарға {pct}% жеңілдік! Асығыңыз: {link}",
        "Жедел несие {amount} ₸ дейін! Анықтамасыз, 15 минутта. Қоңырау шалыңыз: [phone]",
        "Назар аударыңыз! Картаңыз бұғатталды. Қалпына келтіру үшін өтіңіз: {link}",
        "Үйден жұмыс! Күніне {amount} ₸ табыс, тәжірибе қажет емес. Жазыңыз: {link}",
        "Нөміріңіз ұтыс ойынында жеңді! Жүлдені алу үшін {amount} ₸ төлеңіз",
        "Сауалнамадан өтіп, тегін смартфон алыңыз! {link}",
        "Сізде салық бойынша қарыз бар. Айыппұл салынбас үшін бүгін төлеңіз: {link}",
        "Сәлем, бұл менің жаңа нөмірім. Шұғыл {amount} ₸ аударып жіберші, ертең қайтарамын",
        "Сіз үшін арнайы ұсыныс: {pct}% кэшбэк! Тек осы аптада: {link}",
        "Сәлем! Мына суретте сен емессің бе? {link}",
        "Сәлемдемеңіз қоймада тұр. Жеткізуді растау үшін өтіңіз: {link}",
        "Айына {pct}% табыс! Криптовалютаға салым салыңыз. Толығырақ: {link}",
        "Ағылшын тілін бір айда үйреніңіз! Тегін сынақ сабағына жазылыңыз: [phone]",
        "{name}, сізге {amount} ₸ бонус есептелді! Бүгін алып үлгеріңіз: {link}",
    ],
    "ru": [
        "Поздравляем! Вы выиграли {prize_ru}! Чтобы забрать приз, перейдите по ссылке: {link}",
        "Только сегодня! Скидки {pct}% на всё! Успейте: {link}",
        "Быстрый кредит до {amount} ₸! Без справок, за 15 минут. Звоните: [phone]",
        "Внимание! Ваша карта заблокирована. Для восстановления перейдите: {link}",
        "Работа на дому! Доход от {amount} ₸ в день, опыт не нужен. Пиши: {link}",
        "Ваш номер выиграл в розыгрыше! Для получения приза оплатите {amount} ₸",
        "Пройдите опрос и получите смартфон бесплатно! {link}",
        "У вас задолженность по налогам. Оплатите сегодня, чтобы избежать штрафа: {link}",
        "Мам, это я, у меня новый номер. Срочно переведи {amount} ₸, потом объясню",
        "Специально для вас: кэшбэк {pct}%! Только на этой неделе: {link}",
        "Привет! Это ты на фото? {link}",
        "Ваша посылка на складе. Подтвердите доставку: {link}",
        "Доход {pct}% в месяц! Инвестируйте в криптовалюту. Подробнее: {link}",
        "Английский за один месяц! Запишитесь на бесплатный пробный урок: [phone]",
        "{name}, вам начислен бонус {amount} ₸! Успейте получить сегодня: {link}",
    ],
    "mixed": [
        "Акция! Тек бүгін скидка {pct}%! Переходи: {link}",
        "Несие одобрено! {amount} ₸ алу үшін подтвердите по ссылке: {link}",
        "Құттықтаймыз! Вы выиграли {prize_ru}! Сыйлықты алыңыз: {link}",
        "Работа на дому, күніне {amount} ₸! Пишите: {link}",
        "Сәлем, это я, жаңа номер. Срочно {amount} ₸ жіберші, потом верну",
    ],
}
SMS_SERVICE = {  # expected messages from a company the person uses: ham
    "kk": [
        "Сіздің №{n} тапсырысыңыз дайын. Оны дүкеннен алып кетуге болады.",
        "Растау коды: {code}. Оны ешкімге айтпаңыз.",
        "Шотыңызға {amount} ₸ түсті. Қалдық: {amount2} ₸",
        "Картаңыздан {amount} ₸ төленді. Бұл сіз болмасаңыз, банкке хабарласыңыз",
        "{day_kk} күні сағат 10:00-ден 14:00-ге дейін ауданыңызда жарық өшіріледі",
        "Дәрігер қабылдауына жазылдыңыз: {day_kk}, 3-кабинет",
        "Сәлемдемеңіз пошта бөлімшесіне жетті. Қадағалау: {postlink}",
    ],
    "ru": [
        "Ваш заказ №{n} готов, его можно забрать в магазине.",
        "Код подтверждения: {code}. Никому его не сообщайте.",
        "На ваш счёт поступило {amount} ₸. Остаток: {amount2} ₸",
        "С вашей карты оплачено {amount} ₸. Если это были не вы, позвоните в банк",
        "В {day_ru} с 10:00 до 14:00 в вашем районе отключат свет",
        "Вы записаны на приём к врачу: {day_ru}, кабинет 3",
        "Ваша посылка прибыла в почтовое отделение. Отслеживание: {postlink}",
    ],
    "mixed": [
        "Растау коды: {code}. Никому не сообщайте.",
        "Заказ №{n} дайын, можно забрать",
    ],
}
SMS_PROMO = {  # advertising: ham from a shop the person signed up to (sender "service"), spam from a stranger
    "kk": [
        "Дүкенімізде жаңа маусым: барлық киімге {pct}% жеңілдік!",
        "Сүйікті кофеханаңыздан сыйлық: екінші кофе тегін! Ұсыныс осы аптада ғана",
        "Жаңа тариф: айына {amount} ₸, шексіз интернет. Қосылу үшін жауап ретінде 1 жіберіңіз",
        "Ұтыс ойыны! Сатып алу жасап, {prize_kk} ұтып алыңыз. Толығырақ: {promolink}",
        "{name}, сізге {pct}% жеңілдік купоны берілді. Купон ай соңына дейін жарамды",
        "Демалыс күндері ғана: екі пицца бір бағаға! Тапсырыс: {promolink}",
    ],
    "ru": [
        "В нашем магазине новый сезон: скидка {pct}% на всю одежду!",
        "Подарок от вашей кофейни: второй кофе бесплатно! Акция только на этой неделе",
        "Новый тариф: {amount} ₸ в месяц, безлимитный интернет. Чтобы подключить, ответьте 1",
        "Розыгрыш! Совершите покупку и выиграйте {prize_ru}. Подробнее: {promolink}",
        "{name}, вам выдан купон на скидку {pct}%. Купон действует до конца месяца",
        "Только в выходные: две пиццы по цене одной! Заказ: {promolink}",
    ],
    "mixed": [
        "Акция! Барлық киімге скидка {pct}%, успейте!",
        "Жаңа тариф: {amount} ₸ в месяц, шексіз интернет",
    ],
}
SMS_SLOTS = {
    "greet_kk": ["", "Сәлем, ", "Сәлем! ", "Қалайсың? ", "Ей, "],
    "greet_ru": ["", "Привет, ", "Привет! ", "Слушай, ", "Как дела? "],
    "day_kk": ["дүйсенбі", "сейсенбі", "сәрсенбі", "бейсенбі", "жұма", "сенбі"],
    "day_ru": ["понедельник", "вторник", "среду", "четверг", "пятницу", "субботу"],
    "name": ["Айгерім", "Ерлан", "Дана", "Нұрлан", "Әсем", "Бауыржан", "Гүлнұр", "Данияр", "Аня", "Саша",
             "Дима", "Мадина", "Арман", "Жанна", "Тимур", "Айша"],
    "mins": ["5", "10", "15", "20"],
    "pct": ["30", "50", "70", "90"],
    "prize_kk": ["смартфон", "көлік", "1 000 000 ₸", "ноутбук", "пәтер"],
    "prize_ru": ["смартфон", "автомобиль", "1 000 000 ₸", "ноутбук", "квартиру"],
}
SMS_SPAM_DOMAINS = ["bonus-kz", "tez-aqsha", "super-sale", "priz-24", "kredit-online", "sylyk", "photos", "pochta"]
SMS_HAM_DOMAINS = ["video", "photos", "school-news", "pochta"]
SMS_PROMO_DOMAINS = ["shop", "pizza", "sale", "bonus-kz"]
SMS_LANG_SHARE = {"kk": 0.45, "ru": 0.4, "mixed": 0.15}
# kind of message: (share, {sender: share}); a promo is ham from "service", spam from "unknown"
SMS_KINDS = {
    "personal": (0.5, {"contact": 0.88, "unknown": 0.12}),
    "service": (0.12, {"service": 0.95, "unknown": 0.05}),
    "promo": (0.13, {"service": 0.55, "unknown": 0.45}),
    "scam": (0.25, {"unknown": 0.8, "service": 0.1, "contact": 0.1}),
}
SMS_NOISE = 0.01
_DIGITS = str.maketrans({"о": "0", "а": "@", "е": "3", "О": "0", "З": "3"})
# Latin letters that look Cyrillic: "бонус" becomes a word no dictionary knows.
_LATIN = str.maketrans({"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "А": "A",
                        "Е": "E", "О": "O", "Р": "P", "С": "C", "К": "K", "М": "M", "Т": "T", "Н": "H", "В": "B"})


def _kept(word: str) -> bool:
    """Links and the [phone] mask are never disguised (a link must still work)."""
    return "://" in word or "[phone]" in word


def _money(rng: np.random.Generator) -> str:
    return f"{int(rng.choice([5, 10, 15, 20, 25, 50, 100, 150, 300, 500])) * 1000:,}".replace(",", " ")


def _message(rng: np.random.Generator, lang: str, kind: str, spam: bool) -> str:
    templates = {"personal": SMS_HAM, "service": SMS_SERVICE, "promo": SMS_PROMO, "scam": SMS_SPAM}[kind][lang]
    text = templates[rng.integers(len(templates))]
    slots = {key: values[rng.integers(len(values))] for key, values in SMS_SLOTS.items()}
    code = "".join(str(d) for d in rng.integers(0, 10, size=8))
    slots |= {
        "n": str(rng.integers(10000, 99999)), "code": code[:4], "amount": _money(rng), "amount2": _money(rng),
        "link": f"https://{SMS_SPAM_DOMAINS[rng.integers(len(SMS_SPAM_DOMAINS))]}.example/{code[4:]}",
        "hamlink": f"https://{SMS_HAM_DOMAINS[rng.integers(len(SMS_HAM_DOMAINS))]}.example/{code[4:]}",
        "postlink": f"https://pochta.example/{code[4:]}",
        "promolink": f"https://{SMS_PROMO_DOMAINS[rng.integers(len(SMS_PROMO_DOMAINS))]}.example/{code[4:]}",
    }
    text = text.format(**slots)
    text = text[0].upper() + text[1:]
    roll = rng.random()
    if spam and roll < 0.12:
        text = " ".join(word if _kept(word) else word.upper() for word in text.split(" "))
    if spam and roll < 0.5:            # tricks to slip past filters: "ж3ңілдік", "бoнуc" (Latin o and c)
        table = _DIGITS if rng.random() < 0.3 else _LATIN
        text = " ".join(word.translate(table) if rng.random() < 0.6 and not _kept(word) else word
                        for word in text.split(" "))
    elif not spam and roll < 0.2:      # typed fast: no capital, no final full stop
        text = text[0].lower() + text[1:].rstrip(".")
    tail = rng.random() if kind in ("personal", "scam") else 1.0
    if tail < 0.1:
        text += " )))" if not spam else " !!!"
    elif tail < 0.18:
        text += " 👍" if not spam else " 🔥"
    return text


def _sms_spam(rng: np.random.Generator, n_train: int = 3000, n_test: int = 1500) -> _Data:
    n = n_train + n_test
    ids = _ids(rng, "SMS", n)
    langs = rng.choice(list(SMS_LANG_SHARE), size=n, p=list(SMS_LANG_SHARE.values()))
    kinds = rng.choice(list(SMS_KINDS), size=n, p=[share for share, _ in SMS_KINDS.values()])
    rows = []
    for k in range(n):
        kind, lang = str(kinds[k]), str(langs[k])
        senders = SMS_KINDS[kind][1]
        sender = str(rng.choice(list(senders), p=list(senders.values())))
        spam = kind == "scam" or (kind == "promo" and sender == "unknown")
        text = _message(rng, lang, kind, spam)
        if rng.random() < SMS_NOISE:
            spam = not spam
        rows.append([ids[k], lang, sender, text, "spam" if spam else "ham"])
    return _Data(["id", "lang", "sender", "text", "label"], rows[:n_train], rows[n_train:])


# --------------------------------------------------------------------------- 3. wheat yield (TVET)
# One row is one field in one year. Yield (t/ha) = the region's usual yield x a rain response with an
# optimum (too dry and too wet both hurt; irrigated southern fields care less) x a heat penalty above
# 21 °C in June-July x slow progress over the years x noise. The cities and the desert regions
# (astana, almaty_city, shymkent, atyrau, mangystau, kyzylorda, ulytau) grow almost no wheat: left out.

WHEAT_REGIONS = {  # region: (usual yield t/ha, rain May-Aug mm mean, sd, June-July °C mean, rain sensitivity)
    "akmola": (1.35, 200, 55, 19.5, 1.0),
    "kostanay": (1.30, 190, 55, 20.3, 1.0),
    "north_kazakhstan": (1.65, 230, 55, 18.8, 1.0),
    "pavlodar": (1.05, 170, 50, 20.8, 1.0),
    "karaganda": (1.00, 165, 45, 20.0, 1.0),
    "aktobe": (0.95, 150, 45, 22.3, 1.0),
    "west_kazakhstan": (1.00, 150, 45, 22.8, 1.0),
    "east_kazakhstan": (1.50, 235, 55, 19.0, 0.9),
    "abai": (1.20, 190, 50, 20.5, 0.9),
    "almaty_region": (2.30, 210, 50, 22.0, 0.4),
    "jetisu": (2.10, 220, 50, 21.5, 0.4),
    "jambyl": (1.80, 150, 40, 24.0, 0.3),
    "turkistan": (2.00, 125, 35, 25.5, 0.3),
}
WHEAT_RAIN_OPTIMUM = 260.0


def _wheat_yield(rng: np.random.Generator, n_train: int = 2500, n_test: int = 1200) -> _Data:
    n = n_train + n_test
    ids = _ids(rng, "FLD", n)
    names = list(WHEAT_REGIONS)
    weights = np.array([3, 3, 3, 2, 2, 2, 2, 2, 1.5, 1, 1, 1, 1], dtype=float)
    region = rng.choice(len(names), size=n, p=weights / weights.sum())
    year = rng.integers(2005, 2026, size=n)
    rows = []
    for k in range(n):
        base, rain_mean, rain_sd, temp_mean, sensitivity = WHEAT_REGIONS[names[region[k]]]
        rain = max(40.0, rng.normal(rain_mean, rain_sd))
        temp = rng.normal(temp_mean, 1.6) - 0.004 * (rain - rain_mean)   # rainy summers are a bit cooler
        rain_factor = 1 - sensitivity * 1.6e-5 * (rain - WHEAT_RAIN_OPTIMUM) ** 2
        heat_factor = 1 - 0.07 * max(0.0, temp - 21.0)
        progress = 1 + 0.012 * (year[k] - 2005)
        value = base * max(0.15, rain_factor) * max(0.3, heat_factor) * progress * rng.lognormal(0, 0.09)
        rows.append([ids[k], names[region[k]], int(year[k]), int(round(rain)), _f(temp, 1), _f(value, 2)])
    return _Data(["id", "region", "year", "rain_mm", "temp_c", "yield_t_ha"], rows[:n_train], rows[n_train:])


# ------------------------------------------------------------------- 4. course finish (university)
# A hidden "motivation" per learner drives what the platform sees in the first week (active days,
# lessons, minutes, quiz results) and, with the course, the device and whether a teacher or employer
# enrolled them in a group, whether they finish. The first-week numbers are noisy traces of motivation,
# so nobody can be sure; a quiz never taken is left empty (itself a hint).

COURSES = {"ai-basics": 0.4, "genai-everyday": 0.8, "python-start": -0.9, "data-literacy": -0.3}
DEVICES = {"phone": -0.7, "computer": 0.4, "tablet": 0.0}


def _course_finish(rng: np.random.Generator, n_train: int = 3000, n_test: int = 1500) -> _Data:
    n = n_train + n_test
    ids = _ids(rng, "LRN", n)
    rows = []
    for k in range(n):
        course = str(rng.choice(list(COURSES)))
        device = str(rng.choice(list(DEVICES), p=[0.55, 0.35, 0.1]))
        language = str(rng.choice(["kk", "ru"], p=[0.55, 0.45]))
        group = bool(rng.random() < 0.35)
        age = int(np.clip(rng.gamma(4.0, 7.0) + 14, 14, 75))
        motivation = rng.normal(0, 1)
        days = int(rng.binomial(7, _sigmoid(-0.6 + 0.9 * motivation + 0.4 * group)))
        lessons = int(rng.poisson(days * (0.8 + 0.5 * _sigmoid(motivation)))) if days else 0
        per_lesson = rng.gamma(3.0, 6.0 if device == "phone" else 8.0)   # phone lessons are shorter
        minutes = int(round(lessons * per_lesson)) + days * int(rng.integers(0, 6))
        quiz = "" if lessons < 2 or rng.random() < 0.25 else int(np.clip(rng.normal(68 + 10 * motivation, 14), 0, 100))
        life = -0.8 if 25 <= age <= 45 else (0.4 if age < 20 else 0.0)   # work and family leave less time
        logit = (-0.8 + 1.3 * motivation + 1.4 * group + COURSES[course] + DEVICES[device] + life
                 + 0.25 * (days - 3) * (days > 3) + rng.normal(0, 0.4))
        finished = int(rng.random() < _sigmoid(logit))
        rows.append([ids[k], age, course, language, device, "yes" if group else "no", days, lessons, minutes,
                     quiz, finished])
    header = ["id", "age", "course", "language", "device", "in_group", "days_active_week1", "lessons_week1",
              "minutes_week1", "quiz_avg_week1", "finished"]
    return _Data(header, rows[:n_train], rows[n_train:])


# ---------------------------------------------------------------------- 5. city power (adults)
# Daily electricity demand of a city like Astana (MWh a day). Demand = a base that grows ~3 % a year
# (the city grows) + heating below +12 °C + air conditioning above +22 °C + lighting on short days,
# minus weekends and public holidays, x noise. The temperature is a seasonal curve plus weather that
# lasts several days (an AR(1) process). The test is the future: the two years after the train ends.

POWER_START, POWER_SPLIT, POWER_END = date(2019, 1, 1), date(2024, 7, 1), date(2026, 7, 1)
# Kazakhstan's public holidays with fixed dates, plus the first day of Kurban ait (its date moves).
HOLIDAYS_FIXED = {(1, 1), (1, 2), (1, 7), (3, 8), (3, 21), (3, 22), (3, 23), (5, 1), (5, 7), (5, 9), (7, 6),
                  (8, 30), (12, 16)}
KURBAN_AIT = {date(2019, 8, 11), date(2020, 7, 31), date(2021, 7, 20), date(2022, 7, 9), date(2023, 6, 28),
              date(2024, 6, 16), date(2025, 6, 6), date(2026, 5, 27)}
ASTANA_LATITUDE = 51.17


def _holiday(day: date) -> bool:
    fixed = (day.month, day.day) in HOLIDAYS_FIXED
    republic_day = (day.month, day.day) == (10, 25) and day.year >= 2022
    independence_2nd = (day.month, day.day) == (12, 17) and day.year < 2022
    return fixed or republic_day or independence_2nd or day in KURBAN_AIT


def _daylight_hours(day: date) -> float:
    doy = day.timetuple().tm_yday
    declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365)
    cos_omega = -math.tan(math.radians(ASTANA_LATITUDE)) * math.tan(declination)
    return 2 * math.degrees(math.acos(max(-1.0, min(1.0, cos_omega)))) / 15


def _city_power(rng: np.random.Generator) -> _Data:
    days = [POWER_START + timedelta(d) for d in range((POWER_END - POWER_START).days)]
    anomaly = 0.0
    rows = []
    for day in days:
        doy = day.timetuple().tm_yday
        season = 3.5 - 17.5 * math.cos(2 * math.pi * (doy - 18) / 365.25)
        anomaly = 0.75 * anomaly + rng.normal(0, 3.6 if day.month in (11, 12, 1, 2, 3) else 2.4)
        temp = season + anomaly
        light = _daylight_hours(day)
        holiday = _holiday(day)
        years = (day - POWER_START).days / 365.25
        demand = 9000 * (1.03 ** years)
        demand += 260 * max(0.0, 12 - temp) + 180 * max(0.0, temp - 22) + 110 * max(0.0, 14 - light)
        demand *= {5: 0.94, 6: 0.9}.get(day.weekday(), 1.0) * (0.88 if holiday else 1.0)
        demand *= rng.normal(1, 0.025)
        rows.append([day.isoformat(), WEEKDAYS[day.weekday()], int(holiday), _f(temp, 1), _f(light, 2),
                     int(round(demand))])
    split = (POWER_SPLIT - POWER_START).days
    return _Data(["date", "day_of_week", "is_holiday", "temp_c", "daylight_h", "demand_mwh"],
                 rows[:split], rows[split:])


# ------------------------------------------------------------------------------ the descriptions

_DAYS = {
    "kk": "mon — дүйсенбі, tue — сейсенбі, wed — сәрсенбі, thu — бейсенбі, fri — жұма, sat — сенбі, sun — жексенбі",
    "ru": "mon — понедельник, tue — вторник, wed — среда, thu — четверг, fri — пятница, sat — суббота, "
          "sun — воскресенье",
}


@dataclass(frozen=True)
class _Spec:
    slug: str
    category: str
    number: int                    # the task's own random stream: (seed, number)
    make: Callable[[np.random.Generator], _Data]
    metric: str
    classes: list[str] | None
    value_range: tuple[float, float] | None
    starter: str
    unit: dict[str, str]           # of the target, for MAE/RMSE texts
    title: dict[str, str]
    story: dict[str, str]
    columns: list[tuple[str, str, str]]   # (column, kk, ru)
    tips: dict[str, list[str]]


SPECS = [
    _Spec(
        slug="late-bus", category="grades-5-8", number=1, make=_late_bus, metric="accuracy",
        classes=["late", "on_time"], value_range=None, starter="late_bus.py", unit={"kk": "", "ru": ""},
        title={"kk": "Қай автобус кешігеді?", "ru": "Какой автобус опоздает?"},
        story={
            "kk": "Астанада қыс ұзақ, ал қар мен боранда автобустар жиі кешігеді. Қалалық автобус паркі сізден "
                  "көмек сұрайды: аялдамада тұрған адамдарды алдын ала ескерту үшін қай рейстің кешігетінін "
                  "болжау керек. Әр жол — бір рейс: қай бағыт, аптаның қай күні, сағат нешеде, ауа райы қандай "
                  "болды және автобус кесте бойынша уақытында келді ме, әлде 5 минуттан артық кешікті ме.",
            "ru": "В Астане долгая зима, и в снег и буран автобусы часто опаздывают. Городской автобусный парк "
                  "просит вас о помощи: чтобы заранее предупреждать людей на остановках, нужно предсказать, какой "
                  "рейс опоздает. Каждая строка — один рейс: маршрут, день недели, час, погода и успел ли автобус "
                  "по расписанию или опоздал больше чем на 5 минут.",
        },
        columns=[
            ("id", "рейстің идентификаторы", "идентификатор рейса"),
            ("route", "автобус бағыты: 4, 10, 12, 21, 32, 40, 46 немесе 54",
             "маршрут автобуса: 4, 10, 12, 21, 32, 40, 46 или 54"),
            ("day_of_week", "аптаның күні: " + _DAYS["kk"], "день недели: " + _DAYS["ru"]),
            ("hour", "рейс басталған сағат (6–22)", "час отправления (6–22)"),
            ("weather", "ауа райы: clear — ашық, cloudy — бұлтты, rain — жаңбыр, snow — қар, blizzard — боран",
             "погода: clear — ясно, cloudy — облачно, rain — дождь, snow — снег, blizzard — буран"),
            ("temperature_c", "ауа температурасы, °C", "температура воздуха, °C"),
            ("status", "**болжайтын баған**: late — кешікті, on_time — уақытында келді",
             "**что предсказываем**: late — опоздал, on_time — пришёл вовремя"),
        ],
        tips={
            "kk": [
                "Алдымен кестеге қараңыз: боран кезінде рейстердің қаншасы кешіккен? Ал таңғы сегізде ше? "
                "`train.groupby(\"weather\")[\"status\"].value_counts(normalize=True)` көмектеседі.",
                "Қарбалас сағаттар (таңғы 7–9 және кешкі 17–19) тек жұмыс күндері болады: «жұмыс күні ме» және "
                "«қарбалас сағат па» деген жаңа бағандар жасап көріңіз.",
                "Ағаштың тереңдігін (`max_depth`) өзгертіп көріңіз немесе `RandomForestClassifier` алыңыз.",
                "train.csv-ның бір бөлігін өз тексеруіңізге бөліп қойыңыз: тек жария бағаға сенбеңіз.",
            ],
            "ru": [
                "Сначала посмотрите на таблицу: какая доля рейсов опаздывает в буран? А в восемь утра? "
                "Поможет `train.groupby(\"weather\")[\"status\"].value_counts(normalize=True)`.",
                "Часы пик (7–9 утра и 17–19 вечера) бывают только в будни: сделайте новые столбцы «будний ли день» "
                "и «час пик ли».",
                "Попробуйте другую глубину дерева (`max_depth`) или возьмите `RandomForestClassifier`.",
                "Отложите часть train.csv для своей проверки: не полагайтесь только на публичную оценку.",
            ],
        },
    ),
    _Spec(
        slug="sms-spam", category="grades-9-11", number=2, make=_sms_spam, metric="macro_f1",
        classes=["ham", "spam"], value_range=None, starter="sms_spam.py", unit={"kk": "", "ru": ""},
        title={"kk": "Спам ба, жоқ па?", "ru": "Спам или нет?"},
        story={
            "kk": "Телефонға күн сайын ондаған хабар келеді: достан, мектептен, банктен — және алаяқтардан. "
                  "«Сіз ұтып алдыңыз!», «Картаңыз бұғатталды» деген хабарлар адамды алдап, ақшасын алуға "
                  "тырысады. Қазақша, орысша және екі тіл араласып жазылған қысқа хабарларды спам (`spam`) және "
                  "қалыпты хабар (`ham`) деп бөлетін сүзгі жасаңыз.\n\n"
                  "Спам — сұралмаған жарнама, алаяқтық, жалған сілтеме. Адам өзі тіркелген дүкеннің жарнамасы "
                  "спам емес, ал белгісіз нөмірден келген дәл сондай жарнама — спам.\n\n"
                  "Телефон нөмірлері `[phone]` деп жасырылған, сілтемелер ойдан шығарылған `.example` доменінде, "
                  "аттар кездейсоқ: нақты адам да, нақты нөмір де жоқ.",
            "ru": "Каждый день на телефон приходят десятки сообщений: от друзей, из школы, из банка — и от "
                  "мошенников. «Вы выиграли!», «Ваша карта заблокирована» — такие сообщения пытаются обмануть "
                  "человека и выманить деньги. Сделайте фильтр, который делит короткие сообщения на казахском, "
                  "русском и смешанном языке на спам (`spam`) и обычные (`ham`).\n\n"
                  "Спам — непрошеная реклама, мошенничество, поддельные ссылки. Реклама магазина, где человек сам "
                  "зарегистрирован, — не спам, а такая же реклама с неизвестного номера — спам.\n\n"
                  "Номера телефонов скрыты как `[phone]`, ссылки ведут на вымышленный домен `.example`, имена "
                  "случайные: ни реальных людей, ни реальных номеров.",
        },
        columns=[
            ("id", "хабардың идентификаторы", "идентификатор сообщения"),
            ("lang", "хабардың тілі: kk — қазақша, ru — орысша, mixed — аралас",
             "язык сообщения: kk — казахский, ru — русский, mixed — смешанный"),
            ("sender", "жіберуші: contact — телефон кітапшасындағы адам, unknown — белгісіз нөмір, service — адам "
                       "өзі тіркелген ұйым (банк, дүкен, пошта)",
             "отправитель: contact — человек из телефонной книги, unknown — неизвестный номер, service — "
             "организация, где человек сам зарегистрирован (банк, магазин, почта)"),
            ("text", "хабар мәтіні", "текст сообщения"),
            ("label", "**болжайтын баған**: spam немесе ham", "**что предсказываем**: spam или ham"),
        ],
        tips={
            "kk": [
                "Бастапқы шешім тек мәтінді оқиды. `sender` бағанында да пайдалы белгі көп: оны мәтінге қосып "
                "көріңіз, мысалы `train[\"sender\"] + \" \" + train[\"text\"]`.",
                "Алаяқтар әріптерді ауыстырады: «бoнуc» сөзінде латынның o мен c әріптері тұр, «ж3ңілдік» "
                "сөзінде — цифр. Сөздерді емес, әріп тізбектерін санау көмектеседі: "
                "`CountVectorizer(analyzer=\"char_wb\", ngram_range=(2, 4))`.",
                "`MultinomialNB` орнына `LogisticRegression`, `CountVectorizer` орнына `TfidfVectorizer` алып "
                "көріңіз.",
                "Қате жіктелген хабарларды оқып шығыңыз: модель неден жаңылады?",
            ],
            "ru": [
                "Стартовое решение читает только текст. Столбец `sender` тоже многое говорит: добавьте его к "
                "тексту, например `train[\"sender\"] + \" \" + train[\"text\"]`.",
                "Мошенники подменяют буквы: в слове «бoнуc» латинские o и c, в «ж3ңілдік» — цифра. Поможет "
                "считать не слова, а цепочки букв: `CountVectorizer(analyzer=\"char_wb\", ngram_range=(2, 4))`.",
                "Попробуйте `LogisticRegression` вместо `MultinomialNB` и `TfidfVectorizer` вместо "
                "`CountVectorizer`.",
                "Прочитайте сообщения, на которых модель ошиблась: что её путает?",
            ],
        },
    ),
    _Spec(
        slug="wheat-yield", category="tvet", number=3, make=_wheat_yield, metric="mae",
        classes=None, value_range=(0.0, 10.0), starter="wheat_yield.py", unit={"kk": "т/га", "ru": "т/га"},
        title={"kk": "Бидай өнімі қандай болады?", "ru": "Каким будет урожай пшеницы?"},
        story={
            "kk": "Қазақстан — әлемдегі ірі бидай өндірушілердің бірі. Өнім көбіне жаздың қандай болғанына "
                  "байланысты: жаңбыр аз болса, бидай қурап қалады, тым көп болса да зиян, ал шілденің аптап "
                  "ыстығы дәнді кішірейтеді. Агрономдарға көмектесіңіз: облысқа, жылға, мамыр–тамыз айларындағы "
                  "жауын-шашынға және маусым–шілденің орташа температурасына қарап, әр гектардан қанша тонна "
                  "бидай жиналатынын болжаңыз. Әр жол — бір жылғы бір егістік.",
            "ru": "Казахстан — один из крупнейших производителей пшеницы в мире. Урожай во многом зависит от "
                  "лета: мало дождей — пшеница засыхает, слишком много — тоже плохо, а июльская жара мельчит "
                  "зерно. Помогите агрономам: по области, году, осадкам за май–август и средней температуре "
                  "июня–июля предскажите, сколько тонн пшеницы соберут с гектара. Каждая строка — одно поле "
                  "в один год.",
        },
        columns=[
            ("id", "егістіктің идентификаторы", "идентификатор поля"),
            ("region", "облыс: akmola — Ақмола, kostanay — Қостанай, north_kazakhstan — Солтүстік Қазақстан, "
                       "pavlodar — Павлодар, karaganda — Қарағанды, aktobe — Ақтөбе, west_kazakhstan — Батыс "
                       "Қазақстан, east_kazakhstan — Шығыс Қазақстан, abai — Абай, almaty_region — Алматы облысы, "
                       "jetisu — Жетісу, jambyl — Жамбыл, turkistan — Түркістан",
             "область: akmola — Акмолинская, kostanay — Костанайская, north_kazakhstan — Северо-Казахстанская, "
             "pavlodar — Павлодарская, karaganda — Карагандинская, aktobe — Актюбинская, west_kazakhstan — "
             "Западно-Казахстанская, east_kazakhstan — Восточно-Казахстанская, abai — Абай, almaty_region — "
             "Алматинская, jetisu — Жетісу, jambyl — Жамбылская, turkistan — Туркестанская"),
            ("year", "жыл (2005–2025)", "год (2005–2025)"),
            ("rain_mm", "мамыр–тамыз айларындағы жауын-шашын, мм", "осадки за май–август, мм"),
            ("temp_c", "маусым–шілденің орташа температурасы, °C", "средняя температура июня–июля, °C"),
            ("yield_t_ha", "**болжайтын баған**: өнімділік, гектарынан тонна (т/га)",
             "**что предсказываем**: урожайность, тонн с гектара (т/га)"),
        ],
        tips={
            "kk": [
                "Жаңбыр мен өнімнің нүктелік графигін салыңыз: байланыс түзу емес, доға тәрізді. `rain_mm` "
                "квадраты сияқты жаңа баған немесе шешімдер ағаштары (`GradientBoostingRegressor`) көмектеседі.",
                "Оңтүстік облыстарда (almaty_region, jetisu, jambyl, turkistan) егістіктің көбі суармалы, "
                "сондықтан жаңбырдың әсері әлсіз: облыс пен жаңбырдың бірлескен әсерін ескеріңіз.",
                "Ыстық та зиян: маусым–шілдеде 21 °C-тан асқан әр градус өнімді азайтады.",
                "Жылдар өткен сайын агротехника жақсарып, өнім біртіндеп өседі: `year` бағанын тастамаңыз.",
            ],
            "ru": [
                "Постройте точечный график осадков и урожая: связь не прямая, а дугой. Помогут новый столбец "
                "вроде квадрата `rain_mm` или деревья решений (`GradientBoostingRegressor`).",
                "На юге (almaty_region, jetisu, jambyl, turkistan) поля в основном поливные, и дождь влияет "
                "слабо: учитывайте совместное влияние области и осадков.",
                "Жара тоже вредит: каждый градус выше 21 °C в июне–июле снижает урожай.",
                "С годами агротехника улучшается и урожай понемногу растёт: не выбрасывайте столбец `year`.",
            ],
        },
    ),
    _Spec(
        slug="course-finish", category="university", number=4, make=_course_finish, metric="roc_auc",
        classes=None, value_range=(0.0, 1.0), starter="course_finish.py", unit={"kk": "", "ru": ""},
        title={"kk": "Тыңдаушы курсты аяқтай ма?", "ru": "Закончит ли слушатель курс?"},
        story={
            "kk": "Онлайн курсқа жазылғандардың көбі оны аяқтамай тастап кетеді. Платформа бірінші аптаның "
                  "өзінде кімге көмек керек екенін білгісі келеді: қолдау хатын жіберу, тәлімгер бекіту үшін. "
                  "Бірінші аптадағы белсенділікке қарап, тыңдаушының курсты аяқтау ықтималдығын болжаңыз. "
                  "Әр жол — бір курстағы бір тыңдаушы.",
            "ru": "Многие, кто записался на онлайн-курс, бросают его, не закончив. Платформа хочет уже в первую "
                  "неделю понимать, кому нужна помощь: написать письмо поддержки, прикрепить наставника. По "
                  "активности в первую неделю предскажите вероятность того, что слушатель закончит курс. Каждая "
                  "строка — один слушатель на одном курсе.",
        },
        columns=[
            ("id", "тыңдаушының идентификаторы", "идентификатор слушателя"),
            ("age", "жасы", "возраст"),
            ("course", "курс: ai-basics — ЖИ негіздері, genai-everyday — күнделікті өмірдегі генеративті ЖИ, "
                       "python-start — Python-ға алғашқы қадам, data-literacy — деректер сауаттылығы",
             "курс: ai-basics — основы ИИ, genai-everyday — генеративный ИИ в повседневной жизни, python-start — "
             "первые шаги в Python, data-literacy — грамотность в работе с данными"),
            ("language", "курстың тілі: kk немесе ru", "язык курса: kk или ru"),
            ("device", "көбіне қай құрылғыдан оқиды: phone — телефон, computer — компьютер, tablet — планшет",
             "с чего чаще учится: phone — телефон, computer — компьютер, tablet — планшет"),
            ("in_group", "мұғалім немесе жұмыс беруші топқа қосқан ба: yes — иә, no — жоқ",
             "записал ли его в группу учитель или работодатель: yes — да, no — нет"),
            ("days_active_week1", "бірінші аптада платформаға кірген күн саны (0–7)",
             "сколько дней первой недели заходил на платформу (0–7)"),
            ("lessons_week1", "бірінші аптада оқыған сабақ саны", "сколько уроков прошёл за первую неделю"),
            ("minutes_week1", "бірінші аптада оқуға жұмсаған уақыты, минут", "сколько минут учился за первую неделю"),
            ("quiz_avg_week1", "бірінші аптадағы тесттердің орташа балы (0–100); тест тапсырмаса — бос",
             "средний балл тестов первой недели (0–100); пусто, если тестов не сдавал"),
            ("finished", "**болжайтын баған**: 1 — курсты аяқтады, 0 — аяқтамады. Жіберетін файлға 0 мен 1 "
                         "аралығындағы ықтималдықты жазыңыз",
             "**что предсказываем**: 1 — закончил курс, 0 — нет. В файл для отправки пишите вероятность от 0 "
             "до 1"),
        ],
        tips={
            "kk": [
                "Бастапқы шешім тек төрт санды пайдаланады. `course`, `device`, `in_group`, `age` бағандары да "
                "маңызды: оларды `pd.get_dummies` арқылы қосыңыз.",
                "Бос `quiz_avg_week1` өзі бір белгі: «тест тапсырмады» деген жеке баған жасаңыз.",
                "Жас пен нәтиженің байланысы түзу емес: жасты топтарға бөліп көріңіз немесе "
                "`HistGradientBoostingClassifier` алыңыз.",
                "ROC AUC тек ретке қарайды: ықтималдықты дәл табудан гөрі тыңдаушыларды дұрыс ретпен қою "
                "маңызды. Класты емес, `predict_proba` нәтижесін жіберіңіз.",
            ],
            "ru": [
                "Стартовое решение берёт только четыре числа. Столбцы `course`, `device`, `in_group`, `age` тоже "
                "важны: добавьте их через `pd.get_dummies`.",
                "Пустой `quiz_avg_week1` — сам по себе признак: сделайте отдельный столбец «не сдавал тестов».",
                "Связь возраста с результатом не прямая: разбейте возраст на группы или возьмите "
                "`HistGradientBoostingClassifier`.",
                "ROC AUC смотрит только на порядок: важнее правильно упорядочить слушателей, чем угадать точную "
                "вероятность. Отправляйте не класс, а результат `predict_proba`.",
            ],
        },
    ),
    _Spec(
        slug="city-power", category="adults", number=5, make=_city_power, metric="rmse",
        classes=None, value_range=(0.0, 100000.0), starter="city_power.py",
        unit={"kk": "МВт·сағ", "ru": "МВт·ч"},
        title={"kk": "Қала қанша электр тұтынады?", "ru": "Сколько электроэнергии потребит город?"},
        story={
            "kk": "Астанада қыс қатал: аяз −30 °C-қа дейін жетеді, жылу мен жарыққа электр көп жұмсалады, ал "
                  "жазда кондиционерлер қосылады. Энергетиктер қанша электр өндіру керегін алдын ала білуі тиіс. "
                  "2019 жылдың қаңтарынан 2024 жылдың маусымына дейінгі күндік тұтыну белгілі; 2024 жылдың "
                  "шілдесінен бастап екі жылдық тұтынуды болжаңыз. Әр жол — бір күн. Деректер ойдан шығарылған, "
                  "бірақ шынайы қаланың тұтынуына ұқсайды.",
            "ru": "В Астане суровая зима: морозы доходят до −30 °C, много электроэнергии уходит на тепло и свет, "
                  "а летом включаются кондиционеры. Энергетики должны заранее знать, сколько электроэнергии "
                  "произвести. Известно суточное потребление с января 2019 по июнь 2024 года; предскажите "
                  "потребление на два года начиная с июля 2024. Каждая строка — один день. Данные вымышленные, "
                  "но похожи на потребление настоящего города.",
        },
        columns=[
            ("date", "күн (ЖЖЖЖ-АА-КК), жолдың идентификаторы", "дата (ГГГГ-ММ-ДД), идентификатор строки"),
            ("day_of_week", "аптаның күні: " + _DAYS["kk"], "день недели: " + _DAYS["ru"]),
            ("is_holiday", "мереке күні ме: 1 — иә, 0 — жоқ", "праздничный день: 1 — да, 0 — нет"),
            ("temp_c", "тәуліктің орташа температурасы, °C", "среднесуточная температура, °C"),
            ("daylight_h", "күннің жарық бөлігінің ұзақтығы, сағат", "продолжительность светового дня, часов"),
            ("demand_mwh", "**болжайтын баған**: тәуліктік тұтыну, МВт·сағ",
             "**что предсказываем**: суточное потребление, МВт·ч"),
        ],
        tips={
            "kk": [
                "Тұтыну мен температураның графигін салыңыз: суықта да, ыстықта да тұтыну өседі, график V "
                "әрпіне ұқсайды. `max(0, 12 − temp_c)` және `max(0, temp_c − 22)` сияқты бағандар жасаңыз.",
                "Қала жыл сайын өседі, ал тест — болашақ: күннен «2019 жылдан бері өткен күн саны» деген баған "
                "жасаңыз.",
                "Сенбі мен жексенбі бірдей емес: `day_of_week` бағанын толық пайдаланыңыз.",
                "Өз тексеруіңіз үшін кездейсоқ жолдарды емес, train.csv-ның соңғы айларын бөліп алыңыз.",
            ],
            "ru": [
                "Постройте график потребления от температуры: оно растёт и в холод, и в жару, график похож на "
                "букву V. Сделайте столбцы вроде `max(0, 12 − temp_c)` и `max(0, temp_c − 22)`.",
                "Город растёт с каждым годом, а тест — это будущее: сделайте из даты столбец «дней с начала "
                "2019 года».",
                "Суббота и воскресенье не одинаковы: используйте столбец `day_of_week` целиком.",
                "Для своей проверки откладывайте не случайные строки, а последние месяцы train.csv.",
            ],
        },
    ),
]

_METRIC_TEXT = {
    "accuracy": {
        "kk": "**Accuracy (дәлдік)** — дұрыс болжанған жолдардың үлесі: 0-ден 1-ге дейін, неғұрлым көп болса, "
              "соғұрлым жақсы. scikit-learn-нің `accuracy_score` функциясымен есептеледі.",
        "ru": "**Accuracy (доля верных ответов)** — доля строк, предсказанных верно: от 0 до 1, чем больше, тем "
              "лучше. Считается функцией `accuracy_score` из scikit-learn.",
    },
    "macro_f1": {
        "kk": "**Macro F1** — F1 әр класс үшін бөлек есептеліп, орташасы алынады, сондықтан сирек класс та тең "
              "салмақпен ескеріледі: бәрін бір класқа жатқызу жақсы баға бермейді. 0-ден 1-ге дейін, "
              "неғұрлым көп болса, соғұрлым жақсы. scikit-learn-нің `f1_score(average=\"macro\")` "
              "функциясымен есептеледі.",
        "ru": "**Macro F1** — F1 считается отдельно для каждого класса и усредняется, поэтому редкий класс весит "
              "столько же: ответ «всё один класс» хорошей оценки не даст. От 0 до 1, чем больше, тем лучше. "
              "Считается функцией `f1_score(average=\"macro\")` из scikit-learn.",
    },
    "mae": {
        "kk": "**MAE** — орташа абсолют қате: болжам шын мәннен орта есеппен қанша {unit} алшақ. Неғұрлым аз "
              "болса, соғұрлым жақсы. scikit-learn-нің `mean_absolute_error` функциясымен есептеледі.",
        "ru": "**MAE** — средняя абсолютная ошибка: на сколько {unit} в среднем прогноз отличается от правды. "
              "Чем меньше, тем лучше. Считается функцией `mean_absolute_error` из scikit-learn.",
    },
    "rmse": {
        "kk": "**RMSE** — қателер квадраттарының орташасынан алынған квадрат түбір, {unit}: үлкен қателерді "
              "қатаңырақ жазалайды. Неғұрлым аз болса, соғұрлым жақсы. scikit-learn-нің `root_mean_squared_error` "
              "функциясымен есептеледі.",
        "ru": "**RMSE** — корень из средней квадратичной ошибки, {unit}: сильнее наказывает за большие промахи. "
              "Чем меньше, тем лучше. Считается функцией `root_mean_squared_error` из scikit-learn.",
    },
    "roc_auc": {
        "kk": "**ROC AUC** — шын мәні 1 болатын кездейсоқ жолға шын мәні 0 болатын кездейсоқ жолдан жоғары "
              "мән берілу ықтималдығы. 0,5 — кездейсоқ болжам, 1 — мінсіз. Тек мәндердің реті маңызды. "
              "scikit-learn-нің `roc_auc_score` функциясымен есептеледі.",
        "ru": "**ROC AUC** — вероятность того, что случайной строке с ответом 1 вы дали большее значение, чем "
              "случайной строке с ответом 0. 0,5 — случайное угадывание, 1 — идеально. Важен только порядок "
              "значений. Считается функцией `roc_auc_score` из scikit-learn.",
    },
}


def _number(value: float, metric: str) -> str:
    digits = {"mae": 3, "rmse": 1}.get(metric, 4)
    return f"{value:.{digits}f}".replace(".", ",")


def _range_text(lang: str, spec: _Spec) -> str:
    if spec.classes:
        values = ", ".join(f"`{c}`" for c in spec.classes)
        return {"kk": f"Мәндер тек мыналар: {values}.", "ru": f"Допустимые значения: {values}."}[lang]
    low, high = (f"{v:g}".replace(".", ",") for v in spec.value_range)
    return {"kk": f"Мәндер — {low} мен {high} аралығындағы сандар.",
            "ru": f"Значения — числа от {low} до {high}."}[lang]


def _trivial_text(lang: str, spec: _Spec, majority: str | None) -> str:
    if spec.metric in ("accuracy", "macro_f1"):
        return {"kk": f"барлық жолға ең жиі класс `{majority}`",
                "ru": f"всем строкам самый частый класс `{majority}`"}[lang]
    return {
        "mae": {"kk": "барлық жолға train-дегі медиана", "ru": "всем строкам медиана из train"},
        "rmse": {"kk": "барлық жолға train-дегі орташа мән", "ru": "всем строкам среднее из train"},
        "roc_auc": {"kk": "барлық жолға 0,5", "ru": "всем строкам 0,5"},
    }[spec.metric][lang]


def _description(lang: str, spec: _Spec, seed: int, n_train: int, n_test: int, example: list[list[str]],
                 baseline: float, trivial: float, majority: str | None) -> str:
    id_column, target = spec.columns[0][0], spec.columns[-1][0]
    column = 1 if lang == "kk" else 2
    table = "\n".join(f"| `{row[0]}` | {row[column]} |" for row in spec.columns)
    sample = "\n".join(",".join(row) for row in [[id_column, target], *example])
    metric = _METRIC_TEXT[spec.metric][lang].format(unit=spec.unit[lang])
    tips = "\n".join(f"- {tip}" for tip in spec.tips[lang])
    baseline_text, trivial_text = _number(baseline, spec.metric), _number(trivial, spec.metric)
    private = round(PRIVATE_SHARE * 100)
    if lang == "kk":
        return f"""# {spec.title["kk"]}

{spec.story["kk"]}

## Деректер

`train.csv` — {n_train} жол, болжайтын `{target}` бағаны бар. `test.csv` — {n_test} жол, бұл бағансыз: оны сіз \
болжайсыз. Екі файл да UTF-8, үтірмен бөлінген, бірінші жолы — баған аттары.

| Баған | Мағынасы |
|---|---|
{table}

## Баға

{metric}

## Жіберілетін файл

`predictions.csv`: UTF-8, үтірмен бөлінген, бірінші жолы `{id_column},{target}`. `test.csv`-дағы әр `{id_column}` \
үшін дәл бір жол ({n_test} жол): артық та, кем де, қайталанған да болмасын. {_range_text("kk", spec)}

```
{sample}
...
```

## Жария және жабық баға

Тест жолдарының шамамен {100 - private} %-ы — жария бөлік: файлды жібергеннен кейін көретін баға солар бойынша \
есептеледі. Қалған {private} %-ы — жабық бөлік: қорытынды рейтинг соның бағасымен жасалады және нәтижелер \
жарияланғанда ашылады. Қай жол қай бөлікке жататыны айтылмайды, сондықтан шешімді жария бағаға ғана бейімдемеңіз. \
Қорытынды рейтингке ең көбі екі файлыңызды таңдай аласыз; таңдамасаңыз, жария бағасы ең жақсы файлдар алынады.

## Бастапқы шешім

`{spec.starter}` скриптін `train.csv` пен `test.csv` жатқан бумаға салып, `python {spec.starter}` деп іске \
қосыңыз (pandas пен scikit-learn керек): ол `predictions.csv` жазады. Оның жабық бөліктегі бағасы — \
**{baseline_text}**. Ең қарапайым жауап ({_trivial_text("kk", spec, majority)}) {trivial_text} береді. \
Бастапқы шешімнен озып көріңіз!

## Кеңестер

{tips}

## Деректер қайдан алынды

Деректер шынайы емес: оларды бағдарлама ақылға қонымды ереже мен кездейсоқ шу арқылы жасаған (кездейсоқ \
сандардың бастапқы мәні — {seed}). Ережені деректерден табуға болады, бірақ шу болғандықтан мінсіз болжам мүмкін емес.
"""
    return f"""# {spec.title["ru"]}

{spec.story["ru"]}

## Данные

`train.csv` — {n_train} строк, со столбцом `{target}`, который нужно предсказать. `test.csv` — {n_test} строк без \
этого столбца: его предсказываете вы. Оба файла в UTF-8, через запятую, в первой строке — названия столбцов.

| Столбец | Что означает |
|---|---|
{table}

## Оценка

{metric}

## Файл для отправки

`predictions.csv`: UTF-8, через запятую, первая строка `{id_column},{target}`. Ровно одна строка на каждый \
`{id_column}` из `test.csv` ({n_test} строк): без лишних, пропущенных и повторов. {_range_text("ru", spec)}

```
{sample}
...
```

## Публичная и закрытая оценка

Около {100 - private} % строк теста — публичная часть: по ним считается оценка, которую вы видите сразу после \
отправки. Остальные {private} % — закрытая часть: по ней строится итоговый рейтинг, он открывается при \
публикации результатов. Какие строки в какой части, не сообщается, поэтому не подгоняйте решение под публичную \
оценку. Для итогового рейтинга можно выбрать до двух своих файлов; если не выбрать, берутся файлы с лучшей \
публичной оценкой.

## Стартовое решение

Положите скрипт `{spec.starter}` в папку с `train.csv` и `test.csv` и запустите `python {spec.starter}` (нужны \
pandas и scikit-learn): он запишет `predictions.csv`. Его оценка на закрытой части — **{baseline_text}**. Самый \
простой ответ ({_trivial_text("ru", spec, majority)}) даёт {trivial_text}. Попробуйте обойти стартовое решение!

## Советы

{tips}

## Откуда данные

Данные не настоящие: их сгенерировала программа по разумному правилу со случайным шумом (зерно {seed}). Правило \
можно найти в данных, но из-за шума идеальный прогноз невозможен.
"""


# ------------------------------------------------------------------------------------ build_all

def _load_starter(file_name: str) -> ModuleType:
    path = STARTERS / file_name
    spec = importlib.util.spec_from_file_location(f"gennation_sample_starter_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_starter(task: SampleTask) -> str:
    """The starter's ``predict`` on the task's files, as the predictions CSV text the script writes."""
    import pandas as pd

    train = pd.read_csv(io.StringIO(task.train_csv))
    test = pd.read_csv(io.StringIO(task.test_csv))
    return _load_starter(task.starter).predict(train, test).to_csv(index=False)


def trivial_predictions(task: SampleTask) -> dict[str, str | float]:
    """The guess that needs no model: the most common class, the median (MAE), the mean (RMSE), 0.5 (AUC)."""
    train = list(csv.DictReader(io.StringIO(task.train_csv)))
    values = [row[task.target_column] for row in train]
    if task.classes:
        guess: str | float = max(sorted(set(values)), key=values.count)
    elif task.metric == "mae":
        guess = float(np.median([float(v) for v in values]))
    elif task.metric == "rmse":
        guess = float(np.mean([float(v) for v in values]))
    else:
        guess = 0.5
    return {tid: guess for tid in task.labels}


def trivial_score(task: SampleTask) -> float:
    return score_predictions(task, trivial_predictions(task), task.private_ids)


def _build(seed: int, spec: _Spec) -> SampleTask:
    rng = _rng(seed, spec.number)
    data = spec.make(rng)
    train_csv, test_csv, labels, test_ids = _split_files(data)
    task = SampleTask(
        slug=spec.slug, category=spec.category, title=dict(spec.title), description={}, metric=spec.metric,
        id_column=data.header[0], target_column=data.header[-1], classes=spec.classes and list(spec.classes),
        value_range=spec.value_range, train_csv=train_csv, test_csv=test_csv, labels=labels,
        private_ids=_private(rng, test_ids), starter=spec.starter, baseline_score=math.nan,
    )
    task.baseline_score = score_predictions(task, read_predictions(task, run_starter(task)), task.private_ids)
    trivial = trivial_predictions(task)
    majority = str(next(iter(trivial.values()))) if task.classes else None
    # Made-up example values (never the hidden labels).
    values = spec.classes or {"mae": ["1.42", "0.97"], "rmse": ["13250.5", "12980.0"],
                              "roc_auc": ["0.81", "0.07"]}[spec.metric]
    example = [[tid, values[k % 2]] for k, tid in enumerate(test_ids[:2])]
    task.description = {
        lang: _description(lang, spec, seed, len(data.train), len(data.test), example, task.baseline_score,
                           score_predictions(task, trivial, task.private_ids), majority)
        for lang in ("kk", "ru")
    }
    return task


@cache
def _build_all(seed: int) -> tuple[SampleTask, ...]:
    return tuple(_build(seed, spec) for spec in SPECS)


def build_all(seed: int = 2026) -> list[SampleTask]:
    """The five sample tasks (one per category), identical for the same seed. Each call returns fresh copies."""
    return [copy.deepcopy(task) for task in _build_all(seed)]
