"""The tutor's pages and API on the real model."""
import re

from tests.conftest import api_token, csrf_of, register


def test_api_ask_returns_a_labelled_answer_with_sources(tutor_client):
    headers = api_token(tutor_client, "api-tutor")
    response = tutor_client.post("/api/v1/tutor/ask", headers=headers, json={
        "question": "Что такое галлюцинация нейросети?", "lang": "ru", "lesson": "hallucinations-and-checking"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ai_generated"] is True and body["lang"] == "ru" and body["conversation_id"] > 0
    assert body["sources"][0]["lesson"] == "hallucinations-and-checking"
    assert body["answer"]
    rating = tutor_client.post(f"/api/v1/tutor/messages/{body['message_id']}/rating", headers=headers,
                               json={"helpful": False, "comment": "Мысал жоқ"})
    assert rating.status_code == 204


def test_api_ask_without_a_question_is_refused_in_the_learners_language(tutor_client):
    headers = api_token(tutor_client, "api-empty")
    response = tutor_client.post("/api/v1/tutor/ask", headers=headers, json={"question": " ", "lang": "ru"})
    assert response.status_code == 422 and "Please type" not in response.json()["detail"]
    unknown = tutor_client.post("/api/v1/tutor/ask", headers=headers, json={"question": "Что?", "lesson": "nope"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "lesson"]


def test_lesson_page_loads_the_panel_and_the_answer_streams(tutor_client):
    register(tutor_client, "streamer")
    lesson = tutor_client.get("/kk/courses/ai-basics-school/lessons/artificial-neuron").text
    assert 'hx-get="/kk/tutor?course=ai-basics-school&amp;lesson=artificial-neuron"' in lesson
    panel = tutor_client.get("/kk/tutor?course=ai-basics-school&lesson=artificial-neuron",
                             headers={"HX-Request": "true"}).text
    assert panel.lstrip().startswith('<section id="tutor"') and 'name="question"' in panel
    posted = tutor_client.post("/kk/tutor/ask", headers={"HX-Request": "true"}, data={
        "csrf_token": csrf_of(panel), "question": "Нейрон шешімді қалай қабылдайды?",
        "course": "ai-basics-school", "lesson": "artificial-neuron"})
    stream_url = re.search(r'sse-connect="([^"]+)"', posted.text).group(1)
    with tutor_client.stream("GET", stream_url) as stream:
        body = "".join(stream.iter_text())
    events = re.findall(r"^event: (\w+)$", body, re.M)
    assert events[-1] == "final" and events.count("final") == 1
    final = body[body.rindex("event: final"):]
    assert "/kk/courses/ai-basics-school/lessons/artificial-neuron" in final
    assert tutor_client.get(stream_url).status_code == 404  # answered once


def test_without_javascript_the_form_post_shows_the_answer(tutor_client):
    register(tutor_client, "nojs", "ru")
    panel = tutor_client.get("/ru/tutor?course=genai-for-everyone&lesson=what-are-deepfakes").text
    response = tutor_client.post("/ru/tutor/ask", data={
        "csrf_token": csrf_of(panel), "question": "Что такое дипфейк?", "course": "genai-for-everyone",
        "lesson": "what-are-deepfakes"})
    assert response.status_code == 200 and "<html" in response.text
    assert 'class="badge"' in response.text  # labelled as AI-generated
    assert "/ru/courses/genai-for-everyone/lessons/what-are-deepfakes" in response.text


def test_an_empty_question_comes_back_with_a_message(tutor_client):
    register(tutor_client, "emptyq", "kk")
    panel = tutor_client.get("/kk/tutor?course=ai-basics-school&lesson=artificial-neuron").text
    response = tutor_client.post("/kk/tutor/ask", data={"csrf_token": csrf_of(panel), "question": "  ",
                                                        "course": "ai-basics-school", "lesson": "artificial-neuron"})
    assert response.status_code == 422 and 'role="alert"' in response.text


def test_signed_out_visitors_are_asked_to_sign_in(tutor_client):
    panel = tutor_client.get("/kk/tutor?course=ai-basics-school&lesson=artificial-neuron").text
    assert 'href="/kk/login"' in panel and 'name="question"' not in panel
