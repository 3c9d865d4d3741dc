"""The sample season (`gennation tournament sample`): five categories, an open qualifier holding one
practical task and one quiz per category, then a regional round and a final in draft, so that a newcomer
can walk the whole participant path at once. Loading it again changes nothing (idempotent)."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from gennation.platform.database import utcnow
from gennation.platform.files import write_atomically
from gennation.tournament import service
from gennation.tournament.models import Category, Season, Stage, StageKind, StageStatus, Task
from gennation.tournament.samples import practical

SLUG = "sample"
BANKS = Path(__file__).parent / "samples" / "quiz"
STARTERS = Path(__file__).parent / "samples" / "starters"
QUIZ_DRAW, QUIZ_MINUTES = 15, 20

CATEGORIES = {
    "grades-5-8": ({"kk": "5-8 сынып оқушылары", "ru": "Ученики 5-8 классов"}, ["school_student"], 5, 8, "school"),
    "grades-9-11": ({"kk": "9-11 сынып оқушылары", "ru": "Ученики 9-11 классов"}, ["school_student"], 9, 11, "school"),
    "tvet": ({"kk": "Колледж студенттері", "ru": "Студенты колледжей"}, ["tvet_student"], None, None, "adults"),
    "university": ({"kk": "ЖОО студенттері", "ru": "Студенты вузов"}, ["university_student"], None, None, "adults"),
    "adults": ({"kk": "Ересектер", "ru": "Взрослые"}, ["adult", "civil_servant"], None, None, "adults"),
}
STAGES = [
    (StageKind.qualifier, {"kk": "Ашық онлайн іріктеу", "ru": "Открытый онлайн-отбор"}),
    (StageKind.regional, {"kk": "Өңірлік кезең", "ru": "Региональный этап"}),
    (StageKind.final, {"kk": "Республикалық финал", "ru": "Республиканский финал"}),
]
QUIZ_TITLE = {"kk": "ЖИ бойынша викторина", "ru": "Викторина по ИИ"}
QUIZ_TEXT = {
    "kk": "Банктен кездейсоқ %(n)s сұрақ, %(m)s минут. Уақыт «Бастау» батырмасын басқанда басталады.",
    "ru": "%(n)s случайных вопросов из банка, %(m)s минут. Время идёт с нажатия кнопки «Начать».",
}


def bank(name: str) -> list[dict]:
    """A sample bank: at least 30 questions, as the issue asks of a category's quiz."""
    return service.read_bank((BANKS / "kk" / f"{name}.yaml").read_bytes(), (BANKS / "ru" / f"{name}.yaml").read_bytes(),
                             draw=30)


def _labels_csv(task: practical.SampleTask) -> bytes:
    private = set(task.private_ids)
    rows = [f"{task.id_column},{task.target_column},split"]
    rows += [f"{i},{value},{'private' if i in private else 'public'}" for i, value in task.labels.items()]
    return ("\n".join(rows) + "\n").encode()


def load(session: Session, var_dir: Path, now: datetime | None = None) -> Season:
    """The sample season, made if missing; the qualifier opens now and stays open for 60 days."""
    now = (now or utcnow()).replace(second=0, microsecond=0)
    season = session.exec(select(Season).where(Season.slug == SLUG)).first()
    if season is not None:
        _restore_files(session, var_dir, season)
        return season
    season = Season(slug=SLUG, title={"kk": "Ұлттық ЖИ турнирі: үлгі маусым", "ru": "Национальный турнир по ИИ: пробный сезон"})
    session.add(season)
    session.flush()
    categories = {}
    for slug, (title, admits, low, high, _bank) in CATEGORIES.items():
        categories[slug] = Category(season_id=season.id, slug=slug, title=title, admits=admits, grade_min=low, grade_max=high)
        session.add(categories[slug])
    session.flush()
    stages = []
    opens = now
    for position, (kind, title) in enumerate(STAGES, start=1):
        closes = opens + timedelta(days=60 if position == 1 else 7)
        stages.append(Stage(season_id=season.id, position=position, kind=kind, title=title, opens_at=opens,
                            closes_at=closes, freeze_minutes=24 * 60 if position == 1 else 60,
                            advance_top=10 if kind == StageKind.qualifier else 3 if kind == StageKind.regional else None))
        opens = closes + timedelta(days=7)
        session.add(stages[-1])
    session.flush()
    banks = {name: bank(name) for name in ("school", "adults")}
    for sample in practical.build_all():
        category = categories[sample.category]
        files = service.TaskFiles(sample.train_csv.encode(), sample.test_csv.encode(), _labels_csv(sample),
                                  (STARTERS / sample.starter).read_bytes(), sample.starter)
        service.add_practical_task(
            session, None, stages[0], category, title=sample.title, description=sample.description,
            metric=sample.metric, id_column=sample.id_column, target_column=sample.target_column, files=files,
            var_dir=var_dir, classes=sample.classes, value_range=sample.value_range)
        service.add_quiz_task(session, stages[0], category, title=QUIZ_TITLE,
                              description={k: v % {"n": QUIZ_DRAW, "m": QUIZ_MINUTES} for k, v in QUIZ_TEXT.items()},
                              questions=banks[CATEGORIES[sample.category][4]], draw=QUIZ_DRAW, minutes=QUIZ_MINUTES,
                              position=2)
    service.move(session, stages[0], StageStatus.scheduled, None)
    service.run_clock(session, now)  # opens it at once
    return season


def _restore_files(session: Session, var_dir: Path, season: Season) -> None:
    """The data files live under var/: write them again if that folder was cleared (same bytes: seeded)."""
    tasks = session.exec(select(Task).join(Stage, Stage.id == Task.stage_id).where(
        Stage.season_id == season.id, Task.kind == "practical")).all()
    if all((service.files_dir(var_dir, t) / "test.csv").is_file() for t in tasks):
        return
    by_category = {c.id: c.slug for c in service.categories_of(session, season.id)}
    samples = {s.category: s for s in practical.build_all()}
    for task in tasks:
        sample = samples[by_category[task.category_id]]
        folder = service.files_dir(var_dir, task)
        write_atomically(folder / "train.csv", sample.train_csv.encode())
        write_atomically(folder / "test.csv", sample.test_csv.encode())
        write_atomically(folder / sample.starter, (STARTERS / sample.starter).read_bytes())
