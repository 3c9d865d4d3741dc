import re

from tests.conftest import REGISTRATION, api_token, csrf_of, register


def test_registration_errors_come_back_in_kazakh_with_the_form_filled_in(client):
    token = csrf_of(client.get("/kk/register").text)
    response = client.post("/kk/register", data={
        "csrf_token": token, "username": "x", "password": "secret-pass-1", "display_name": "Сәуле Ғабитқызы",
        "region": "turkistan", "category": "adult", "role": "learner", "language": "kk"})
    assert response.status_code == 422
    html = response.text
    assert 'value="Сәуле Ғабитқызы"' in html
    assert '<option value="turkistan" selected>' in html
    assert "secret-pass-1" not in html  # a password is never echoed back
    assert 'id="username-error"' in html and 'aria-invalid="true"' in html
    error = re.search(r'id="username-error">([^<]+)<', html).group(1)
    assert error != "Use 3 to 40 letters, digits, dots, dashes or underscores."  # translated


def test_duplicate_username_gets_a_clear_message_in_russian(client):
    register(client, "timur", "ru")
    client.cookies.clear()
    token = csrf_of(client.get("/ru/register").text)
    response = client.post("/ru/register", data={"csrf_token": token, "username": "Timur", **REGISTRATION,
                                                 "language": "ru"})
    assert response.status_code == 422
    assert "занято" in response.text


def test_over_long_name_is_rejected_with_a_message(client):
    response = client.post("/api/v1/auth/register", json={**REGISTRATION, "username": "long",
                                                          "display_name": "Ә" * 81}, params={"lang": "kk"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "display_name"]
    assert "80" in detail[0]["msg"]


def test_state_changing_form_without_csrf_token_is_refused(client):
    response = client.post("/kk/register", data={"username": "nocsrf", **REGISTRATION})
    assert response.status_code == 403
    assert "Traceback" not in response.text


def test_login_failure_is_generic_and_localised_then_success_redirects_to_next(client):
    register(client, "dana")
    client.cookies.clear()
    token = csrf_of(client.get("/ru/login").text)
    wrong = client.post("/ru/login", data={"csrf_token": token, "username": "dana", "password": "nope-nope"})
    unknown = client.post("/ru/login", data={"csrf_token": token, "username": "ghost", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert 'value="dana"' in wrong.text
    message = re.search(r'role="alert"[^>]*>([^<]+)<', wrong.text).group(1)
    assert message == re.search(r'role="alert"[^>]*>([^<]+)<', unknown.text).group(1)
    ok = client.post("/ru/login", data={"csrf_token": token, "username": "dana", "password": REGISTRATION["password"],
                                        "next": "/ru/courses/test-course"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/ru/courses/test-course"


def test_login_does_not_redirect_to_another_site(client):
    register(client, "safe")
    client.cookies.clear()
    token = csrf_of(client.get("/kk/login").text)
    response = client.post("/kk/login", data={"csrf_token": token, "username": "safe",
                                              "password": REGISTRATION["password"], "next": "//evil.example"},
                           follow_redirects=False)
    assert response.headers["location"] == "/kk/courses"


def test_login_rate_limit_answers_429_with_a_message(client):
    token = csrf_of(client.get("/kk/login").text)
    statuses = [client.post("/kk/login", data={"csrf_token": token, "username": "someone", "password": "x" * 8}).status_code
                for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429


def test_api_register_login_and_profile(client):
    headers = api_token(client, "api-aruzhan")
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json()["display_name"] == REGISTRATION["display_name"]
    login = client.post("/api/v1/auth/login", json={"username": "API-Aruzhan", "password": REGISTRATION["password"]})
    assert login.status_code == 200 and login.json()["token_type"] == "bearer"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_data_export_contains_profile_and_progress_and_no_password_hash(client):
    headers = api_token(client, "exporter")
    client.post("/api/v1/courses/test-course/lessons/first-steps/read", headers=headers)
    data = client.get("/api/v1/me/export", headers=headers).json()
    assert data["profile"]["username"] == "exporter"
    assert "password_hash" not in data["profile"]
    assert len(data["lessons_read"]) == 1 and len(data["enrollments"]) == 1


def test_account_deletion_needs_the_password_and_then_removes_everything(learner):
    token = csrf_of(learner.get("/kk/account").text)
    refused = learner.post("/kk/account/delete", data={"csrf_token": token, "password": "wrong"})
    assert refused.status_code == 400
    done = learner.post("/kk/account/delete", data={"csrf_token": token, "password": REGISTRATION["password"]})
    assert done.status_code == 200
    assert learner.get("/kk/account", follow_redirects=False).status_code == 303
    login = learner.post("/api/v1/auth/login", json={"username": "aliya", "password": REGISTRATION["password"]})
    assert login.status_code == 401


def test_pages_that_need_an_account_send_to_login_with_next(client):
    response = client.get("/ru/courses/test-course/quizzes/basics-quiz", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ru/login?next=/ru/courses/test-course/quizzes/basics-quiz"


def test_a_deleted_accounts_token_and_cookie_do_not_sign_in_the_next_person(client):
    """SQLite hands a deleted row's id out again: the old credentials must not fit the new account."""
    token = client.post("/api/v1/auth/register", json={"username": "leaver", **REGISTRATION}).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    register(client, "leaver-web")
    cookie = client.cookies.get("gn_session")
    me = client.get("/api/v1/me", headers=bearer).json()
    page = client.get("/kk/account").text
    client.post("/kk/account/delete", data={"csrf_token": csrf_of(page), "password": REGISTRATION["password"]})
    assert client.delete("/api/v1/me", headers=bearer).status_code == 204
    client.cookies.clear()
    newcomer = client.post("/api/v1/auth/register", json={"username": "newcomer", **REGISTRATION}).json()
    register(client, "newcomer-web")
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    client.cookies.set("gn_session", cookie)
    assert "newcomer" not in client.get("/kk/account", follow_redirects=False).text
    assert client.get("/kk/account", follow_redirects=False).status_code == 303  # signed out, to the login page
    assert newcomer["access_token"] != token and me["username"] == "leaver"
