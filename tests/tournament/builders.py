"""Small seasons for the tournament's tests: people made directly (no password hashing), a practical task
with generated data, and a quiz bank in the course engine's format."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlmodel import Session

from gennation.platform.accounts.models import Role, User
from gennation.platform.database import utcnow
from gennation.tournament import service
from gennation.tournament.models import Category, Season, Stage, StageKind, StageStatus


def person(session: Session, username: str, *, category: str = "school_student", grade: int | None = 9,
           region: str = "shymkent", role: Role = Role.learner, name: str | None = None) -> User:
    user = User(username=username, username_skeleton=username, password_hash="-", display_name=name or f"Қатысушы {username}",
                role=role, region=region, category=category, school_grade=grade if category == "school_student" else None)
    session.add(user)
    session.flush()
    return user


def practical_files(n_test: int = 40, seed: int = 7) -> tuple[service.TaskFiles, dict[str, str], list[str]]:
    """A yes/no task: train with labels, test without, labels with a public/private split (60 % private)."""
    rng = random.Random(seed)
    train = ["id,minutes_late_yesterday,late"] + [f"t{n},{m},{'yes' if m > 5 else 'no'}"
                                                  for n, m in ((n, rng.randint(0, 10)) for n in range(60))]
    ids = [f"b{n:03d}" for n in range(n_test)]
    test = ["id,minutes_late_yesterday"] + [f"{i},{rng.randint(0, 10)}" for i in ids]
    labels = {i: rng.choice(["yes", "no"]) for i in ids}
    private = sorted(rng.sample(ids, int(n_test * 0.6)))
    rows = ["id,late,split"] + [f"{i},{labels[i]},{'private' if i in private else 'public'}" for i in ids]
    data = lambda lines: ("\n".join(lines) + "\n").encode()  # noqa: E731
    return service.TaskFiles(data(train), data(test), data(rows)), labels, private


def predictions(labels: dict[str, str], right: float, seed: int = 0) -> bytes:
    """A predictions file with about `right` of the rows correct."""
    rng = random.Random(seed)
    flip = {"yes": "no", "no": "yes"}
    lines = ["id,late"] + [f"{i},{v if rng.random() < right else flip[v]}" for i, v in labels.items()]
    return ("\n".join(lines) + "\n").encode()


def question(n: int) -> dict:
    options = lambda lang: [{"id": o, "text": f"{lang} {n}{o}", "explanation": ""} for o in "abc"]  # noqa: E731
    return {"slug": f"q{n}", "kind": "single", "key": {"correct": ["a"]},
            "text": {"kk": {"prompt": f"Сұрақ {n}?", "options": options("kk")},
                     "ru": {"prompt": f"Вопрос {n}?", "options": options("ru")}}}


BANK = [question(n) for n in range(1, 9)]


def right_answers(run) -> dict:
    """The token of option "a" (the keyed one) in each question of a run, as the page shows it."""
    return {slug: next(token for token, choice in run.layout[slug] if choice == "a") for slug in run.question_slugs}


def stage(session: Session, season: Season, position: int, kind: StageKind, now: datetime,
          status: StageStatus = StageStatus.open, hours: float = 2, freeze_minutes: int = 0,
          advance_top: int | None = None) -> Stage:
    found = Stage(season_id=season.id, position=position, kind=kind, title={"kk": f"Кезең {position}", "ru": f"Этап {position}"},
                  opens_at=now - timedelta(hours=1), closes_at=now + timedelta(hours=hours), status=status,
                  freeze_minutes=freeze_minutes, advance_top=advance_top)
    session.add(found)
    session.flush()
    return found


def season(session: Session, var_dir, now: datetime | None = None, *, daily_limit: int = 5,
           with_quiz: bool = True, test_rows: int = 40) -> dict:
    """A season with two categories (grades 5-8, adults), an open qualifier with a practical task in
    each category and, optionally, a quiz task for each."""
    now = now or utcnow()
    found = Season(slug="test-season", title={"kk": "Сынақ маусымы", "ru": "Тестовый сезон"})
    session.add(found)
    session.flush()
    school = Category(season_id=found.id, slug="grades-5-8", title={"kk": "5-8 сыныптар", "ru": "5-8 классы"},
                      admits=["school_student"], grade_min=5, grade_max=8)
    adults = Category(season_id=found.id, slug="adults", title={"kk": "Ересектер", "ru": "Взрослые"},
                      admits=["adult", "civil_servant", "university_student", "tvet_student"])
    session.add_all([school, adults])
    session.flush()
    qualifier = stage(session, found, 1, StageKind.qualifier, now, StageStatus.draft, advance_top=2)
    files, labels, private = practical_files(test_rows)
    practical = {}
    quiz = {}
    for category in (school, adults):
        practical[category.slug] = service.add_practical_task(
            session, None, qualifier, category, title={"kk": "Автобус кешіге ме?", "ru": "Опоздает ли автобус?"},
            description={"kk": "Сипаттама", "ru": "Описание"}, metric="accuracy", id_column="id",
            target_column="late", files=files, var_dir=var_dir, classes=["yes", "no"], daily_limit=daily_limit)
        if with_quiz:
            quiz[category.slug] = service.add_quiz_task(
                session, qualifier, category, title={"kk": "Викторина", "ru": "Викторина"},
                description={"kk": "", "ru": ""}, questions=BANK, draw=5, minutes=10, position=2)
    qualifier.status = StageStatus.open
    session.add(qualifier)
    session.flush()
    return {"season": found, "school": school, "adults": adults, "qualifier": qualifier, "practical": practical,
            "quiz": quiz, "labels": labels, "private": private}
