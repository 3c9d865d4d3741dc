"""Қаланың электр тұтынуы / Потребление электроэнергии города — бастапқы шешім / стартовое решение.

Іске қосу / Запуск: train.csv мен test.csv жатқан бумада / в папке с train.csv и test.csv:
    python city_power.py
Нәтиже / Результат: predictions.csv (date,demand_mwh).
"""
import pandas as pd
from sklearn.linear_model import LinearRegression


def table(frame):
    x = frame[["temp_c", "daylight_h", "is_holiday"]].copy()
    # Демалыс күні: сенбі мен жексенбі / Выходной: суббота и воскресенье
    x["weekend"] = frame["day_of_week"].isin(["sat", "sun"]).astype(int)
    return x


def predict(train, test):
    # Сызықтық регрессия: суық та, ыстық та бір түзумен сипатталады
    # Линейная регрессия: и холод, и жара описываются одной прямой
    model = LinearRegression().fit(table(train), train["demand_mwh"])
    return pd.DataFrame({"date": test["date"], "demand_mwh": model.predict(table(test)).round(1)})


if __name__ == "__main__":
    train = pd.read_csv("train.csv")
    test = pd.read_csv("test.csv")
    predict(train, test).to_csv("predictions.csv", index=False)
    print("predictions.csv дайын / готов")
