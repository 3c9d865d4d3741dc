"""A learner asks the tutor on a Kazakh lesson page and sees the answer stream in, with its sources."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser import axe_violations, screenshot
from tests.frontend.test_browser import register_in_kazakh

pytestmark = pytest.mark.browser


def test_question_on_a_kazakh_lesson_page_gets_a_streamed_answer_with_sources(page, tutor_server):
    register_in_kazakh(page, tutor_server, "сұрақшы")
    page.goto(f"{tutor_server}/kk/courses/genai-for-everyone/lessons/what-are-deepfakes")
    question = page.get_by_label("Сұрағыңыз")
    expect(question).to_be_visible()  # the panel was loaded by htmx
    question.fill("Дипфейк деген не?")
    tokens = []
    page.on("response", lambda r: tokens.append(r.url) if "/tutor/stream/" in r.url else None)
    page.get_by_role("button", name="Сұрау").click()
    answer = page.locator("#tutor-log .tutor-answer").last
    expect(answer.locator(".badge")).to_be_visible(timeout=90_000)  # the final answer replaced the stream
    expect(answer.locator("a[href='/kk/courses/genai-for-everyone/lessons/what-are-deepfakes']")).to_be_visible()
    assert any("/kk/tutor/stream/" in url for url in tokens)  # it came over server-sent events
    expect(answer).to_have_attribute("lang", "kk")
    screenshot(page, "kk-tutor-answer")
    assert axe_violations(page) == []
    expect(question).to_have_value("")  # the form is ready for the next question
    assert re.search(r"\w", answer.inner_text())
