"""Қай автобус кешігеді? / Какой автобус опоздает? — бастапқы шешім / стартовое решение.

Іске қосу / Запуск: train.csv мен test.csv жатқан бумада / в папке с train.csv и test.csv:
    python late_bus.py
Нәтиже / Результат: predictions.csv (id,status).
"""
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

FEATURES = ["route", "day_of_week", "hour", "weather", "temperature_c"]


def table(frame):
    # Мәтін бағандарын 0/1 бағандарға айналдырамыз / Текстовые столбцы превращаем в столбцы 0/1
    return pd.get_dummies(frame[FEATURES].astype({"route": str}), dtype=int)


def predict(train, test):
    x_train, x_test = table(train), table(test)
    x_test = x_test.reindex(columns=x_train.columns, fill_value=0)
    # Тереңдігі 3 шешімдер ағашы: оқуға оңай, бірақ көп жайтты ескермейді
    # Дерево решений глубины 3: легко читается, но многое не учитывает
    model = DecisionTreeClassifier(max_depth=3, random_state=0)
    model.fit(x_train, train["status"])
    return pd.DataFrame({"id": test["id"], "status": model.predict(x_test)})


if __name__ == "__main__":
    train = pd.read_csv("train.csv")
    test = pd.read_csv("test.csv")
    predict(train, test).to_csv("predictions.csv", index=False)
    print("predictions.csv дайын / готов")
