"""Бидай өнімі / Урожай пшеницы — бастапқы шешім / стартовое решение.

Іске қосу / Запуск: train.csv мен test.csv жатқан бумада / в папке с train.csv и test.csv:
    python wheat_yield.py
Нәтиже / Результат: predictions.csv (id,yield_t_ha).
"""
import pandas as pd
from sklearn.linear_model import LinearRegression

FEATURES = ["region", "year", "rain_mm", "temp_c"]


def table(frame):
    # Облысты 0/1 бағандарға айналдырамыз / Регион превращаем в столбцы 0/1
    return pd.get_dummies(frame[FEATURES], dtype=int)


def predict(train, test):
    x_train, x_test = table(train), table(test)
    x_test = x_test.reindex(columns=x_train.columns, fill_value=0)
    # Сызықтық регрессия: жаңбыр көбейсе, өнім де бір қалыппен өседі деп санайды
    # Линейная регрессия: считает, что урожай растёт с дождём равномерно
    model = LinearRegression().fit(x_train, train["yield_t_ha"])
    return pd.DataFrame({"id": test["id"], "yield_t_ha": model.predict(x_test).clip(0, None).round(3)})


if __name__ == "__main__":
    train = pd.read_csv("train.csv")
    test = pd.read_csv("test.csv")
    predict(train, test).to_csv("predictions.csv", index=False)
    print("predictions.csv дайын / готов")
