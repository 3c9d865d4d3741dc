"""Курсты бітіре ме? / Закончит ли курс? — бастапқы шешім / стартовое решение.

Іске қосу / Запуск: train.csv мен test.csv жатқан бумада / в папке с train.csv и test.csv:
    python course_finish.py
Нәтиже / Результат: predictions.csv (id,finished): бітіру ықтималдығы 0..1 / вероятность окончания 0..1.
"""
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# Тек бірінші аптаның сандары / Только числа первой недели
FEATURES = ["days_active_week1", "lessons_week1", "minutes_week1", "quiz_avg_week1"]


def table(frame):
    # Тест тапсырмағандарда quiz_avg_week1 бос: 0 қоямыз / Кто не сдавал тест, у того пусто: ставим 0
    return frame[FEATURES].fillna(0)


def predict(train, test):
    model = make_pipeline(StandardScaler(), LogisticRegression())
    model.fit(table(train), train["finished"])
    # Класс емес, ықтималдық жібереміз / Отправляем вероятность, а не класс
    probability = model.predict_proba(table(test))[:, 1]
    return pd.DataFrame({"id": test["id"], "finished": probability.round(6)})


if __name__ == "__main__":
    train = pd.read_csv("train.csv")
    test = pd.read_csv("test.csv")
    predict(train, test).to_csv("predictions.csv", index=False)
    print("predictions.csv дайын / готов")
