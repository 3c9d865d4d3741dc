"""Спам ба, жоқ па? / Спам или нет? — бастапқы шешім / стартовое решение.

Іске қосу / Запуск: train.csv мен test.csv жатқан бумада / в папке с train.csv и test.csv:
    python sms_spam.py
Нәтиже / Результат: predictions.csv (id,label).
"""
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline


def predict(train, test):
    # Әр хабарды сөздер санағына айналдырамыз, сосын аңғал Байес
    # Каждое сообщение превращаем в счётчик слов, затем наивный Байес
    model = make_pipeline(CountVectorizer(), MultinomialNB())
    model.fit(train["text"], train["label"])
    return pd.DataFrame({"id": test["id"], "label": model.predict(test["text"])})


if __name__ == "__main__":
    train = pd.read_csv("train.csv")
    test = pd.read_csv("test.csv")
    predict(train, test).to_csv("predictions.csv", index=False)
    print("predictions.csv дайын / готов")
