import re

from fastapi.testclient import TestClient

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


def test_guessing_a_password_waits_with_retry_after_but_the_owner_signs_in_from_home(client):
    register(client, "owner")
    client.cookies.clear()
    token = csrf_of(client.get("/kk/login").text)
    guesses = [client.post("/kk/login", data={"csrf_token": token, "username": "owner", "password": "x" * 8})
               for _ in range(6)]
    assert [r.status_code for r in guesses] == [401] * 5 + [429]
    assert int(guesses[5].headers["retry-after"]) >= 1 and "секунд" in guesses[5].text
    home = client.post("/kk/login", data={"csrf_token": token, "username": "owner", "password": REGISTRATION["password"]},
                       headers={"X-Forwarded-For": "10.20.30.40"}, follow_redirects=False)
    assert home.status_code == 429  # a forged X-Forwarded-For is not believed without TRUSTED_PROXIES


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_visitors(app, loaded):
    app.state.settings.trusted_proxies = "10.0.0.0/8"
    with TestClient(app, client=("10.0.0.2", 5000)) as proxied:
        register(proxied, "owner2")
        proxied.cookies.clear()
        token = csrf_of(proxied.get("/kk/login").text)
        form = {"csrf_token": token, "username": "owner2", "password": "x" * 8}
        guesser = {"X-Forwarded-For": "203.0.113.7"}
        assert [proxied.post("/kk/login", data=form, headers=guesser).status_code for _ in range(6)][-1] == 429
        owner = {"X-Forwarded-For": "198.51.100.20, 10.0.0.9"}  # the visitor, then our second proxy
        signed_in = proxied.post("/kk/login", data={**form, "password": REGISTRATION["password"]}, headers=owner,
                                 follow_redirects=False)
        assert signed_in.status_code == 303


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
    assert client.request("DELETE", "/api/v1/me", headers=bearer, json={"password": REGISTRATION["password"]}).status_code == 204
    client.cookies.clear()
    newcomer = client.post("/api/v1/auth/register", json={"username": "newcomer", **REGISTRATION}).json()
    register(client, "newcomer-web")
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    client.cookies.set("gn_session", cookie)
    assert "newcomer" not in client.get("/kk/account", follow_redirects=False).text
    assert client.get("/kk/account", follow_redirects=False).status_code == 303  # signed out, to the login page
    assert newcomer["access_token"] != token and me["username"] == "leaver"


def test_a_copied_cookie_stops_working_after_logout(learner):
    copied = learner.cookies.get("gn_session")
    token = csrf_of(learner.get("/kk/account").text)
    assert learner.post("/kk/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    learner.cookies.clear()
    learner.cookies.set("gn_session", copied)
    assert learner.get("/kk/account", follow_redirects=False).status_code == 303  # to the login page


def test_the_owner_lists_and_revokes_tokens_and_the_revoked_one_gets_401(client):
    phone = api_token(client, "many-devices")
    laptop = {"Authorization": "Bearer " + client.post("/api/v1/auth/login", json={
        "username": "many-devices", "password": REGISTRATION["password"]}).json()["access_token"]}
    listed = client.get("/api/v1/me/sign-ins", headers=phone).json()
    assert len(listed) == 2 and [row["current"] for row in listed].count(True) == 1
    assert all("secret" not in key for row in listed for key in row)
    laptop_id = next(row["id"] for row in client.get("/api/v1/me/sign-ins", headers=laptop).json() if row["current"])
    assert client.delete(f"/api/v1/me/sign-ins/{laptop_id}", headers=phone).status_code == 204
    assert client.get("/api/v1/me", headers=laptop).status_code == 401
    assert client.get("/api/v1/me", headers=phone).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=phone).status_code == 204
    assert client.get("/api/v1/me", headers=phone).status_code == 401


def test_nobody_ends_another_persons_sign_in(client):
    mine, theirs = api_token(client, "first-person"), api_token(client, "second-person")
    their_id = client.get("/api/v1/me/sign-ins", headers=theirs).json()[0]["id"]
    assert client.delete(f"/api/v1/me/sign-ins/{their_id}", headers=mine).status_code == 404
    assert client.get("/api/v1/me", headers=theirs).status_code == 200


def test_a_password_change_signs_out_every_other_device_but_not_this_one(learner):
    browser = learner.cookies.get("gn_session")
    learner.cookies.clear()  # an app on a phone, which has no cookie
    other = learner.post("/api/v1/auth/login", json={"username": "aliya", "password": REGISTRATION["password"]}).json()
    learner.cookies.set("gn_session", browser)
    page = learner.get("/kk/account").text
    assert "осы құрылғы" in page and "API токені" in page
    wrong = learner.post("/kk/account/password", data={"csrf_token": csrf_of(page), "current_password": "nope",
                                                      "new_password": "a new password 7"})
    assert wrong.status_code == 422 and "Құпиясөз дұрыс емес." in wrong.text
    done = learner.post("/kk/account/password", data={"csrf_token": csrf_of(page),
                                                     "current_password": REGISTRATION["password"],
                                                     "new_password": "a new password 7"})
    assert done.status_code == 200 and "Басқа құрылғылардың бәрінен шығарылдыңыз" in done.text
    assert learner.get("/api/v1/me", headers={"Authorization": f"Bearer {other['access_token']}"}).status_code == 401
    assert learner.get("/kk/account", follow_redirects=False).status_code == 200


def test_the_api_refuses_a_cookie_signed_change_without_the_csrf_token(learner):
    """Another site can make the browser send the cookie, but cannot read the page's CSRF token."""
    forged = learner.request("DELETE", "/api/v1/me", json={"password": REGISTRATION["password"]})
    assert forged.status_code == 403
    assert learner.get("/kk/account", follow_redirects=False).status_code == 200  # still there
    token = csrf_of(learner.get("/kk/account").text)
    read = learner.post("/api/v1/courses/test-course/lessons/first-steps/read", headers={"X-CSRF-Token": token})
    assert read.status_code in (200, 204)


def test_deleting_an_account_through_the_api_needs_the_password(client):
    bearer = api_token(client, "careful")
    assert client.request("DELETE", "/api/v1/me", headers=bearer).status_code == 422
    wrong = client.request("DELETE", "/api/v1/me", headers=bearer, json={"password": "not it"})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "password"]
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    assert client.request("DELETE", "/api/v1/me", headers=bearer, json={"password": REGISTRATION["password"]}).status_code == 204
    assert client.get("/api/v1/me", headers=bearer).status_code == 401


def test_too_many_registrations_from_one_address_keep_the_form_filled_in(client, monkeypatch):
    monkeypatch.setattr("gennation.platform.accounts.service.REGISTRATIONS_PER_HOUR", 1)
    register(client, "first-of-the-class", lang="ru")
    client.cookies.clear()
    token = csrf_of(client.get("/ru/register").text)
    refused = client.post("/ru/register", data={"csrf_token": token, "username": "second-of-the-class",
                                                "language": "ru", **REGISTRATION})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "Из вашей сети зарегистрировано слишком много аккаунтов" in refused.text
    assert 'value="second-of-the-class"' in refused.text and REGISTRATION["password"] not in refused.text


def test_the_registration_form_finds_the_institution_without_javascript_and_keeps_what_was_typed(client, session):
    from gennation.platform.institutions.models import Institution
    school = Institution(name="Абай атындағы № 5 мектеп-лицей", name_ru="Школа-лицей № 5 имени Абая", kind="school",
                         region="abai")
    session.add(school)
    session.commit()
    token = csrf_of(client.get("/kk/register").text)
    form = {"csrf_token": token, "username": "finder", "language": "kk", **REGISTRATION}
    found = client.post("/kk/register", data={**form, "institution_q": "абай атындағы", "find_institution": "1"})
    assert found.status_code == 200 and f'name="institution_id" value="{school.id}"' in found.text
    assert 'value="finder"' in found.text and REGISTRATION["password"] not in found.text  # filled in, no password
    fragment = client.get("/ru/institutions/search", params={"institution_q": "ЛИЦЕЙ № 5"}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="institution-choices"') and "Школа-лицей № 5 имени Абая" in fragment.text
    done = client.post("/kk/register", data={**form, "institution_id": str(school.id)}, follow_redirects=False)
    assert done.status_code == 303
    assert "Абай атындағы № 5 мектеп-лицей" in client.get("/kk/account").text


def test_a_person_changes_their_details_and_a_bad_field_keeps_the_form(learner):
    page = learner.get("/ru/account/profile").text
    assert 'value="Әлия Нұрғалиқызы"' in page
    bad = learner.post("/ru/account/profile", data={"csrf_token": csrf_of(page), "display_name": "Әлия Серікқызы",
                                                    "region": "mars", "category": "school_student", "language": "ru"})
    assert bad.status_code == 422 and 'value="Әлия Серікқызы"' in bad.text
    good = learner.post("/ru/account/profile", data={"csrf_token": csrf_of(page), "display_name": "Әлия Серікқызы",
                                                     "region": "turkistan", "category": "school_student",
                                                     "school_grade": "10", "language": "ru"}, follow_redirects=False)
    assert good.status_code == 303 and good.headers["location"] == "/ru/account"
    assert "Әлия Серікқызы" in learner.get("/ru/account").text
