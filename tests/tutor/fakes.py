"""A stand-in for the model, for fast tests of the tutor's pipeline (queue, slots, guards, records).
The real model is tested end to end beside these (test_service, test_routes, test_workers)."""
from __future__ import annotations

import threading

ANSWERS = {
    "kk": "Нейрон әр кірісті өз салмағына көбейтеді, бәрін қосады да, қосынды шектен асса, белсенді болады. "
          "Осылай ол қарапайым шешім қабылдайды.",
    "ru": "Нейрон умножает каждый вход на его вес, складывает результаты и сравнивает сумму с порогом. "
          "Так он принимает простое решение.",
}


class ScriptedModel:
    """Answers every prompt with a fixed text, a word at a time. With `hold` set, it stops after the
    first word until `release()` (or until the job is cancelled), so a test can look around mid-answer."""

    def __init__(self, text: str, hold: bool = False):
        self.pieces = [word + " " for word in text.split()]
        self.calls: list[list[dict]] = []
        self.first_token = threading.Event()
        self._go = threading.Event()
        if not hold:
            self._go.set()

    def release(self) -> None:
        self._go.set()

    def generate(self, messages, max_tokens, on_token, cancelled=lambda: False) -> dict:
        self.calls.append(messages)
        count = 0
        for piece in self.pieces[:max_tokens]:
            on_token(piece)
            count += 1
            self.first_token.set()
            while not self._go.wait(0.02):
                if cancelled():
                    return {"tokens": count, "ttft_ms": 1.0, "total_ms": 2.0, "cancelled": True}
            if cancelled():
                return {"tokens": count, "ttft_ms": 1.0, "total_ms": 2.0, "cancelled": True}
        return {"tokens": count, "ttft_ms": 1.0, "total_ms": 2.0, "cancelled": False}
