"""The simulated people of bench/load.py, and the locust run itself (locust as a library, one process).

    python bench/load_users.py --host URL --world world.json --out out.json --users N --spawn-rate R --duration S

Kept light on purpose (FastHttpUser, regular expressions rather than an HTML parser): the generator shares
the 2 cores with the server. Every request is recorded with its scenario, a route name (the path's
template) and its status; the figures count only the requests started once every user has arrived.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import re
import resource
import time
import urllib.parse
from collections import Counter, defaultdict

import gevent
import locust
from locust import between, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment

WORLD: dict = {}
SAMPLES: list[tuple] = []  # (started, scenario, name, status, ms)
TUTOR: list[dict] = []  # one per question asked
BENCH_ERRORS: list[str] = []
NUMBERS = itertools.count(1)  # each person's address
ACCOUNTS: dict[str, itertools.count] = defaultdict(itertools.count)  # each scenario's next account
ARRIVED: list[int] = []  # users whose arrival (sign-in) is done: the measured time starts once all are
CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"|name="csrf_token" value="([^"]+)"')
FIELDSET = re.compile(r"<fieldset.*?</fieldset>", re.S)


def group_of(name: str) -> str:
    """"tutor" (its own figures) or "page" (every other request a person waits for)."""
    return "tutor" if name.startswith("tutor ") else "page"


def on_request(request_type, name, response_time, response_length, response=None, context=None, exception=None,
               start_time=None, **_kw):
    status = getattr(response, "status_code", 0) or 0  # 0: no answer at all (connection refused, reset, timeout)
    full = name if name.startswith("tutor ") else f"{request_type} {name}"
    SAMPLES.append((start_time or time.time(), (context or {}).get("scenario", "?"), full, status, response_time))


def on_user_error(user_instance, exception, tb):
    BENCH_ERRORS.append(f"{type(user_instance).__name__}: {type(exception).__name__}: {exception}"[:300])


class Person(FastHttpUser):
    """One person from an address of their own (through the trusted proxy, as across the country)."""

    abstract = True
    scenario = ""
    network_timeout = 180.0  # a tutor answer waits its turn in the queue
    connection_timeout = 30.0

    def context(self) -> dict:
        return {"scenario": self.scenario}

    def on_start(self) -> None:
        self.number = next(NUMBERS)
        n = self.number
        self.headers = {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}
        self.csrf = ""
        self.lang = "kk"
        try:
            self.arrive()
        finally:
            ARRIVED.append(n)

    def arrive(self) -> None:
        """What a person does once, on arrival (sign in)."""

    def get(self, path: str, name: str, htmx: bool = False, redirects: bool = True, **kw):
        headers = {**self.headers, **({"HX-Request": "true"} if htmx else {}), **kw.pop("headers", {})}
        return self.client.get(path, name=name, headers=headers, allow_redirects=redirects, **kw)

    def post(self, path: str, name: str, fields, htmx: bool = False, redirects: bool = False):
        headers = {**self.headers, "Content-Type": "application/x-www-form-urlencoded",
                   **({"HX-Request": "true", "X-CSRF-Token": self.csrf} if htmx else {})}
        body = urllib.parse.urlencode([*fields, ("csrf_token", self.csrf)])
        return self.client.post(path, name=name, data=body, headers=headers, allow_redirects=redirects)

    def keep_csrf(self, response) -> None:
        found = CSRF.search(response.text or "")
        if found:
            self.csrf = found.group(1) or found.group(2)

    def follow(self, response, name: str):
        """The redirect a browser follows after a form (303) or an address it was sent to (307)."""
        if response.status_code in (302, 303, 307) and response.headers.get("location"):
            return self.get(response.headers["location"], name)
        return response

    def sign_in(self, account: str) -> None:
        self.lang = "ru" if int(re.sub(r"\D", "", account.rsplit("-", 1)[1]) or 0) % 5 >= 3 else "kk"
        login = self.get(f"/{self.lang}/login", "/{lang}/login")
        self.keep_csrf(login)
        answer = self.post(f"/{self.lang}/login", "/{lang}/login", [("username", account), ("password", WORLD["password"]),
                                                                     ("next", "")])
        if answer.status_code != 303:
            raise RuntimeError(f"sign-in of {account} answered {answer.status_code}")
        self.keep_csrf(self.follow(answer, "/{lang}/... (after sign-in)"))

    def account(self) -> str:
        names = WORLD["accounts"][self.scenario]  # as many as users of the scenario, or more: no two share one
        return names[next(ACCOUNTS[self.scenario]) % len(names)]


class Learner(Person):
    """Reads lessons course by course, marks them read, takes module quizzes, looks at the catalogue."""

    weight = 60
    scenario = "learner"
    wait_time = between(2, 8)

    def arrive(self) -> None:
        self.sign_in(self.account())
        self.course = random.choice(WORLD["courses"])
        self.at = random.randrange(len(WORLD["lessons"][self.course]))

    @task(6)
    def read_lesson(self) -> None:
        lessons = WORLD["lessons"][self.course]
        if self.at >= len(lessons):
            self.course, self.at = random.choice(WORLD["courses"]), 0
            lessons = WORLD["lessons"][self.course]
        lesson = lessons[self.at]
        self.at += 1
        page = self.get(f"/{self.lang}/courses/{self.course}/lessons/{lesson}", "/{lang}/courses/{slug}/lessons/{lesson}")
        self.keep_csrf(page)
        if random.random() < 0.6:  # read to the end: "I have read this lesson" (htmx)
            self.post(f"/{self.lang}/courses/{self.course}/lessons/{lesson}/read",
                      "/{lang}/courses/{slug}/lessons/{lesson}/read", [], htmx=True)

    @task(2)
    def course_page(self) -> None:
        self.get(f"/{self.lang}/courses/{self.course}", "/{lang}/courses/{slug}")

    @task(1)
    def catalogue(self) -> None:
        self.get(f"/{self.lang}/courses", "/{lang}/courses")

    @task(1)
    def home(self) -> None:
        self.get(f"/{self.lang}/", "/{lang}/")

    @task(2)
    def quiz(self) -> None:
        course, quiz = random.choice(WORLD["quizzes"])
        path = f"/{self.lang}/courses/{course}/quizzes/{quiz}"
        page = self.get(path, "/{lang}/courses/{slug}/quizzes/{quiz}")
        if page.status_code != 200:
            return
        self.keep_csrf(page)
        fields = answers(page.text or "")
        if fields is None:
            return  # graded already, with a pause before the next attempt
        gevent.sleep(random.uniform(10, 30))  # answering takes a while
        self.post(path, "/{lang}/courses/{slug}/quizzes/{quiz}", fields, htmx=True)


def answers(html: str) -> list[tuple[str, str]] | None:
    """Some answer to every question of the quiz form, as a learner would fill it in."""
    attempt = re.search(r'name="attempt_id" value="(\d+)"', html)
    if not attempt:
        return None
    fields = [("attempt_id", attempt.group(1))]
    for fieldset in FIELDSET.findall(html):
        radios = re.findall(r'type="radio" id="[^"]*" name="([^"]+)" value="([^"]+)"', fieldset)
        boxes = re.findall(r'type="checkbox" id="[^"]*" name="([^"]+)" value="([^"]+)"', fieldset)
        selects = re.findall(r'<select id="[^"]*" name="([^"]+)"', fieldset)
        number = re.search(r'<input id="([^"]+)" name="\1" inputmode="decimal"', fieldset)
        if radios:
            fields.append(random.choice(radios))
        elif boxes:
            fields += random.sample(boxes, random.randint(1, len(boxes)))
        elif selects:
            places = random.sample(range(1, len(selects) + 1), len(selects))
            fields += [(name, str(place)) for name, place in zip(selects, places)]
        elif number:
            fields.append((number.group(1), str(random.randint(1, 10))))
    return fields


class TutorAsker(Person):
    """Opens a lesson, asks the tutor about it, reads the streamed answer to the end."""

    weight = 5
    scenario = "tutor"
    wait_time = between(20, 40)

    def arrive(self) -> None:
        self.sign_in(self.account())

    @task
    def ask(self) -> None:
        case = random.choice(WORLD["questions"])
        lang = case["lang"]
        page = self.get(f"/{lang}/courses/{case['course']}/lessons/{case['lesson']}", "/{lang}/courses/{slug}/lessons/{lesson}")
        self.keep_csrf(page)
        gevent.sleep(random.uniform(3, 8))  # reads a little, then types the question
        asked = {"started": time.time(), "first": None, "passage": None, "final": None, "error": False}
        TUTOR.append(asked)
        t0 = time.perf_counter()
        answer = self.post(f"/{lang}/tutor/ask", "tutor POST /{lang}/tutor/ask",
                           [("question", case["question"]), ("course", case["course"]), ("lesson", case["lesson"])],
                           htmx=True)
        stream = re.search(r'sse-connect="([^"]+)"', answer.text or "") if answer.status_code == 200 else None
        if not stream:
            asked["error"] = answer.status_code != 429
            asked["status"] = answer.status_code
            return
        response = self.client.get(stream.group(1), name="tutor GET /{lang}/tutor/stream/{id}", stream=True,
                                   headers={**self.headers, "Accept": "text/event-stream", "Accept-Encoding": "identity"})
        if response.status_code != 200:
            asked["error"] = True
            return
        # Line by line as the events come (the client's read(n) would wait for n bytes: the times would be late).
        raw, event = response._response, None
        while True:
            line = raw.readline(b"\n").decode("utf-8", "replace")
            if not line:
                break
            if line.startswith("event: "):
                event = line[7:].strip()
                at = (time.perf_counter() - t0) * 1000
                if event == "passage" and asked["passage"] is None:
                    asked["passage"] = at
                elif event == "token" and asked["first"] is None:
                    asked["first"] = at
                elif event == "final":
                    asked["final"] = at
            elif event == "final" and line.startswith("data: ") and 'class="error"' in line:
                asked["error"] = True


class Participant(Person):
    """A tournament participant: watches the stage's leaderboard, reads the task, sends predictions."""

    weight = 20
    scenario = "participant"
    wait_time = between(3, 10)

    def arrive(self) -> None:
        self.sign_in(self.account())
        self.stage, self.task_id = WORLD["tournament"]["stage"], WORLD["tournament"]["task"]
        self.board = f"/{self.lang}/tournament/stages/{self.stage}?category={WORLD['tournament']['category']}"

    @task(4)
    def leaderboard(self) -> None:
        self.get(self.board, "/{lang}/tournament/stages/{id}")
        for _ in range(random.randint(0, 2)):  # the board refreshes itself every 20 s while it is open
            gevent.sleep(20)
            self.get(self.board, "/{lang}/tournament/stages/{id} (htmx refresh)", htmx=True)

    @task(1)
    def tournament_home(self) -> None:
        self.get(f"/{self.lang}/tournament", "/{lang}/tournament")

    @task(2)
    def task_page(self) -> None:
        self.keep_csrf(self.get(f"/{self.lang}/tournament/tasks/{self.task_id}", "/{lang}/tournament/tasks/{id}"))

    @task(1)
    def send_entry(self) -> None:
        path = f"/{self.lang}/tournament/tasks/{self.task_id}"
        self.keep_csrf(self.get(path, "/{lang}/tournament/tasks/{id}"))
        gevent.sleep(random.uniform(2, 6))  # chooses the file
        boundary = f"----load{random.getrandbits(64):x}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{self.csrf}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"predictions.csv\"\r\n"
                f"Content-Type: text/csv\r\n\r\n{random.choice(WORLD['tournament']['files'])}\r\n--{boundary}--\r\n")
        sent = self.client.post(f"{path}/entries", name="/{lang}/tournament/tasks/{id}/entries", data=body.encode(),
                                headers={**self.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                                allow_redirects=False)
        if sent.status_code == 303:
            self.get(sent.headers["location"], "/{lang}/tournament/tasks/{id}")
            for _ in range(2):  # the entries list refreshes itself every 5 s while one is being scored
                gevent.sleep(5)
                self.get(path, "/{lang}/tournament/tasks/{id} (htmx refresh)", htmx=True)


class Teacher(Person):
    """A teacher between lessons: the class list, the gradebook, now and then its CSV."""

    weight = 5
    scenario = "teacher"
    wait_time = between(5, 15)

    def arrive(self) -> None:
        name = self.account()
        self.sign_in(name)
        self.classroom = WORLD["classes"][name]

    @task(4)
    def gradebook(self) -> None:
        self.get(f"/{self.lang}/classes/{self.classroom}/gradebook", "/{lang}/classes/{id}/gradebook")

    @task(1)
    def classes(self) -> None:
        self.get(f"/{self.lang}/classes", "/{lang}/classes")

    @task(1)
    def csv(self) -> None:
        self.get(f"/{self.lang}/classes/{self.classroom}/gradebook.csv", "/{lang}/classes/{id}/gradebook.csv")


class Public(Person):
    """Anyone checking a certificate: from its QR code, by its code typed in, or an employer's system."""

    weight = 10
    scenario = "public"
    wait_time = between(3, 10)

    def arrive(self) -> None:
        self.headers["Accept-Language"] = random.choice(("kk-KZ,kk;q=0.9,ru;q=0.8", "ru-RU,ru;q=0.9", "ru,en;q=0.8"))

    @task(5)
    def qr_code(self) -> None:
        public_id, _code = random.choice(WORLD["certificates"])
        self.follow(self.get(f"/verify/{public_id}", "/verify/{reference}", redirects=False), "/{lang}/verify/{reference}")

    @task(3)
    def by_code(self) -> None:
        _public_id, code = random.choice(WORLD["certificates"])
        lang = random.choice(("kk", "ru"))
        self.get(f"/{lang}/verify", "/{lang}/verify")
        found = self.get(f"/{lang}/verify?code={urllib.parse.quote(code)}", "/{lang}/verify?code=", redirects=False)
        self.follow(found, "/{lang}/verify/{reference}")

    @task(2)
    def api(self) -> None:
        public_id, _code = random.choice(WORLD["certificates"])
        self.get(f"/api/v1/certificates/{public_id}/verify", "/api/v1/certificates/{reference}/verify")


# ---------------------------------------------------------------- figures

def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)  # nearest rank
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def figures(rows: list[tuple], seconds: float) -> dict:
    times = [r[4] for r in rows]
    return {"count": len(rows), "rps": len(rows) / seconds, "p50": percentile(times, 50), "p95": percentile(times, 95),
            "p99": percentile(times, 99), "max": max(times) if times else None,
            "errors": sum(1 for r in rows if is_error(r[3])), "rate_limited": sum(1 for r in rows if r[3] == 429)}


def is_error(status: int) -> bool:
    return not (200 <= status < 400) and status != 429


def summary(users: int, spawn_s: float, since: float, until: float, classes: dict, generator_cpu: float) -> dict:
    seconds = until - since
    measured = [s for s in SAMPLES if since <= s[0] < until]
    ramp = [s for s in SAMPLES if s[0] < since]
    scenarios = {}
    for scenario in sorted({s[1] for s in measured}):
        mine = [s for s in measured if s[1] == scenario]
        routes = []
        by_name = defaultdict(list)
        for s in mine:
            by_name[s[2]].append(s)
        for name, rows in by_name.items():
            statuses = Counter(r[3] for r in rows)
            routes.append({"name": name, "group": group_of(name), **figures(rows, seconds), "statuses": dict(sorted(statuses.items()))})
        scenarios[scenario] = {**figures(mine, seconds), "routes": routes}
    pages = [s for s in measured if group_of(s[2]) == "page"]
    asked = [t for t in TUTOR if since <= t["started"] < until]
    waits = [t["first"] if t["first"] is not None else t["final"] for t in asked
             if (t["first"] is not None or t["final"] is not None) and not t["error"]]
    logins = [s[4] for s in ramp if s[2].endswith("/{lang}/login") and s[2].startswith("POST")]
    return {
        "users": users, "user_classes": classes, "spawn_s": spawn_s, "measured_s": seconds,
        "generator": f"locust {locust.__version__} as a library, 1 process (gevent, FastHttpUser/geventhttpclient)",
        "generator_cpu": generator_cpu, "requests": len(measured), "rps": len(measured) / seconds,
        "errors": sum(1 for s in measured if is_error(s[3])), "rate_limited": sum(1 for s in measured if s[3] == 429),
        "pages": figures(pages, seconds), "scenarios": scenarios,
        "tutor": {"asked": len(asked), "answered": sum(1 for t in asked if t["final"] is not None and not t["error"]),
                  "wait_p50": percentile(waits, 50), "wait_p95": percentile(waits, 95),
                  "passage_p95": percentile([t["passage"] for t in asked if t["passage"] is not None], 95),
                  "final_p95": percentile([t["final"] for t in asked if t["final"] is not None], 95),
                  "no_sentence": sum(1 for t in asked if t["first"] is None and t["final"] is not None),
                  "unfinished": sum(1 for t in asked if t["final"] is None and not t["error"]),
                  # they had waited this long already without a first sentence: the p95 above is a lower bound
                  "unfinished_waited": max([(until - t["started"]) * 1000 for t in asked
                                            if t["first"] is None and t["final"] is None and not t["error"]], default=None),
                  "stream_errors": sum(1 for t in asked if t["error"])},
        "ramp": {"count": len(ramp), "errors": sum(1 for s in ramp if is_error(s[3])),
                 "login_p50": percentile(logins, 50), "login_p99": percentile(logins, 99)},
        "bench_errors": len(BENCH_ERRORS), "bench_error_samples": sorted(set(BENCH_ERRORS))[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--world", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--spawn-rate", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    args = parser.parse_args()
    WORLD.update(json.loads(open(args.world).read()))

    env = Environment(user_classes=[Learner, TutorAsker, Participant, Teacher, Public], host=args.host)
    env.events.request.add_listener(on_request)
    env.events.user_error.add_listener(on_user_error)
    runner = env.create_local_runner()
    cpu_start, wall_start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    began = time.time()
    runner.start(args.users, spawn_rate=args.spawn_rate)
    runner.spawning_greenlet.join()
    deadline = time.time() + 300
    while len(ARRIVED) < args.users and time.time() < deadline:
        gevent.sleep(0.2)
    since = time.time()
    gevent.sleep(args.duration)
    until = time.time()
    scenario_of = {cls.__name__: cls.scenario for cls in env.user_classes}
    classes = {scenario_of[name]: count for name, count in runner.user_classes_count.items()}
    runner.quit()
    cpu_end = resource.getrusage(resource.RUSAGE_SELF)
    used = (cpu_end.ru_utime - cpu_start.ru_utime) + (cpu_end.ru_stime - cpu_start.ru_stime)
    result = summary(args.users, since - began, since, until, classes, used / (time.perf_counter() - wall_start))
    with open(args.out, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
