"""Bad input answers 422 (or, for a page address, 404) naming the field, never 500: huge ids, NUL
bytes, lone surrogates, over-long fields; and usernames that only look like a taken one are refused."""
from tests.conftest import REGISTRATION, api_token, csrf_of, register


def test_an_id_beyond_a_database_integer_is_a_named_422_not_a_crash(client):
    bearer = api_token(client, "counter")
    huge = 10**20
    api = client.post(f"/api/v1/attempts/{huge}", json={"answers": {}}, headers=bearer)
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["path", "attempt_id"]
    assert client.delete(f"/api/v1/me/sign-ins/{huge}", headers=bearer).status_code == 422
    assert client.get(f"/kk/classes/{huge}/tutor", headers=bearer).status_code == 404  # no such page


def test_a_nul_or_a_lone_surrogate_in_json_is_refused_naming_the_field(client):
    for bad in ("Әлия\u0000", "Әлия\ud800"):
        body = '{"username": "hygiene", "password": "correct horse 42", "display_name": "%s", ' \
               '"region": "astana", "category": "adult"}' % bad.encode("unicode_escape").decode().replace("\\x00", "\\u0000")
        response = client.post("/api/v1/auth/register?lang=ru", content=body.encode(),
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 422, response.text
        detail = response.json()["detail"][0]
        assert detail["loc"] == ["body", "display_name"] and "NUL" in detail["msg"]


def test_a_nul_in_a_form_field_is_refused_in_the_persons_language(client):
    token = csrf_of(client.get("/kk/register").text)
    response = client.post("/kk/register", data={"csrf_token": token, "username": "nul\x00byte", "language": "kk",
                                                 **REGISTRATION})
    assert response.status_code == 422 and "сақтауға болмайтын таңбалар" in response.text


def test_an_over_long_password_at_login_is_refused_naming_it(client):
    response = client.post("/api/v1/auth/login", json={"username": "someone", "password": "x" * 5000})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "password"]


def test_a_username_that_only_looks_like_a_taken_one_is_refused(client):
    register(client, "admin-aliya")
    client.cookies.clear()
    for lookalike in ("аdmin-aliya", "ａｄｍｉｎ-aliya", "ADMIN-ALIYA"):  # Cyrillic "а"; full-width letters; capitals
        token = csrf_of(client.get("/ru/register").text)
        response = client.post("/ru/register", data={"csrf_token": token, "username": lookalike, "language": "ru",
                                                     **REGISTRATION})
        assert response.status_code == 422, lookalike
        assert "выглядит так же, как уже занятое" in response.text or "уже занято" in response.text, lookalike
        assert f'value="{lookalike}"' in response.text  # the form comes back filled in
    register(client, "aliya-admin", lang="ru")  # a different name is welcome


def test_json_under_any_json_media_type_and_multipart_forms_are_checked_too(client):
    """FastAPI reads application/*+json (and a body without a content type) as JSON; multipart forms
    skip the body guard and are checked where the form is read."""
    body = b'{"username": "sneaky", "password": "correct horse 42", "display_name": "N\\u0000UL", ' \
           b'"region": "astana", "category": "adult"}'
    for content_type in ("application/problem+json", "application/vnd.example+json; charset=utf-8"):
        response = client.post("/api/v1/auth/register", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 422, content_type
    token = csrf_of(client.get("/kk/register").text)
    fields = {"csrf_token": token, "username": "multi", "language": "kk", **REGISTRATION, "display_name": "X\x00Y"}
    response = client.post("/kk/register", files={k: (None, v) for k, v in fields.items()})
    assert response.status_code == 422 and "сақтауға болмайтын таңбалар" in response.text


def test_a_nul_in_the_query_string_is_a_named_422(client):
    response = client.get("/api/v1/courses", params={"lang": "kk\x00"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "lang"]
    assert client.get("/kk/institutions/search", params={"institution_q": "ab\x00cd"}).status_code == 422


def test_a_server_error_page_carries_the_security_headers(app, loaded):
    from fastapi.testclient import TestClient

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom")
    assert response.status_code == 500 and "a bug" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff" and "frame-ancestors" in response.headers["content-security-policy"]
