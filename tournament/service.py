"""The tournament's logic on a session (no HTTP): seasons and stages, registration, entries and their
scoring, timed quiz runs, standings, advancement and the organisers' actions.

Functions flush, never commit. Moments are UTC; `now` may be given (tests move the clock).
"""
from __future__ import annotations

import csv
import hashlib
import io
import random
import re
import secrets
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import false, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gennation.courses import service as courses
from gennation.courses.models import QuestionKind
from gennation.courses.outline import QuestionItem
from gennation.courses.source import read_question_bank
from gennation.platform.accounts.models import Category as ProfileCategory, Role, User
from gennation.platform.audit import service as audit
from gennation.platform.database import utcnow
from gennation.platform.errors import Conflict, Forbidden, InvalidField, NotFound, RateLimited
from gennation.platform.files import write_atomically
from gennation.platform.i18n import N_
from gennation.platform.institutions.assignments import ALMATY, as_utc, local_text
from gennation.tournament import scoring
from gennation.tournament.models import (
    Advancement, Appeal, Category, Entry, EntryScore, EntryStatus, ExtraTime, Participant, QuizRun, Season,
    Stage, StageEvent, StageKind, StageStatus, Standing, Task, TaskKind, TaskLabels,
)

# Entries waiting longer than this are re-queued by the sweeper (a worker died, a message was lost).
STUCK_AFTER = timedelta(minutes=5)
MAX_TRIES = 3  # then the entry is marked failed and its attempt given back
QUIZ_GRACE = timedelta(seconds=5)  # answers in flight when the clock ends still count
FAST_SECONDS_PER_QUESTION = 3  # a finished quiz faster than this per question is flagged
MANY_FROM_ONE_NETWORK = 20  # registrations from one address in an hour, flagged
NEAR_IDENTICAL = 0.9  # two people's files agreeing on this share of bands are flagged
COMMON_BAND = 50  # a band answered alike by more people than this is everyone's answer, not a copy


# Called with (session, standing) when a standing changes, and (session, stage id) when a whole stage's
# boards must be rebuilt; tasks.install adds the Redis leaderboard updates (sent after commit).
standing_hooks: list = []
stage_hooks: list = []


def _stage_changed(session: Session, stage_id: int) -> None:
    for hook in stage_hooks:
        hook(session, stage_id)


# ---------------------------------------------------------------- errors

class StageNotOpen(Conflict):
    message = N_("This stage is not open for entries now (server time %(now)s, Astana).")


class NotEligible(Forbidden):
    message = N_("This task is not open to you: register for its category, or reach this stage first.")


class DailyLimit(RateLimited):
    message = N_("You have used today's %(limit)s scored entries for this task. New attempts open at midnight, Astana time.")


class TotalLimit(Conflict):
    message = N_("You have used all %(limit)s entries allowed for this task.")


class BadMove(Conflict):
    message = N_("A stage cannot move from %(current)s to %(target)s.")


class ResultsLocked(Conflict):
    message = N_("The results of this stage are locked. Unlock them (with a reason) before re-scoring.")


class QuizOver(Conflict):
    message = N_("Time is up for this quiz (server time %(now)s, Astana). Your saved answers were graded.")


# ---------------------------------------------------------------- helpers

def new_public_id() -> str:
    return secrets.token_urlsafe(12)  # 96 random bits: an address nobody can guess or count up to


def is_organiser(user: User | None) -> bool:
    return user is not None and user.role in (Role.organiser, Role.admin)


def require_organiser(user: User) -> None:
    if not is_organiser(user):
        raise Forbidden


def local_day(moment: datetime):
    return as_utc(moment).astimezone(ALMATY).date()


def title_of(value: dict, lang: str) -> str:
    return value.get(lang) or value.get("ru") or next(iter(value.values()), "")


def _clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidField("reason", N_("Please give a reason: it is kept in the log and shown to the person concerned."))
    return text[:500]


def files_dir(var_dir: Path, task: Task) -> Path:
    return var_dir / "tournament" / "tasks" / task.public_id


def entry_path(var_dir: Path, entry: Entry) -> Path:
    return var_dir / "tournament" / "entries" / entry.public_id[:2] / f"{entry.public_id}.csv"


# ---------------------------------------------------------------- seasons, stages and the clock

# Allowed moves; the clock makes the timed ones, organisers the others (and may also make timed ones early).
MOVES = {
    StageStatus.draft: {StageStatus.scheduled},
    StageStatus.scheduled: {StageStatus.draft, StageStatus.open},
    StageStatus.open: {StageStatus.frozen, StageStatus.closed},
    StageStatus.frozen: {StageStatus.closed},
    StageStatus.closed: {StageStatus.locked},
    StageStatus.locked: {StageStatus.closed, StageStatus.published},  # back to closed: the audited unlock
    StageStatus.published: set(),
}
ACCEPTING = (StageStatus.open, StageStatus.frozen)


def season_by_slug(session: Session, slug: str) -> Season:
    season = session.exec(select(Season).where(Season.slug == slug)).first()
    if season is None:
        raise NotFound
    return season


def stage(session: Session, stage_id: int) -> Stage:
    found = session.get(Stage, stage_id)
    if found is None:
        raise NotFound
    return found


def freeze_at(stage: Stage) -> datetime | None:
    return as_utc(stage.closes_at) - timedelta(minutes=stage.freeze_minutes) if stage.freeze_minutes else None


def move(session: Session, stage: Stage, target: StageStatus, actor: User | None, reason: str = "",
         now: datetime | None = None) -> Stage:
    """Move a stage one step, logged with who made it. Unlocking needs a reason."""
    target = StageStatus(target)
    if target not in MOVES[StageStatus(stage.status)]:
        raise BadMove(current=stage.status, target=target.value)
    if stage.status == StageStatus.locked and target == StageStatus.closed:
        reason = _clean_reason(reason)
    if target == StageStatus.scheduled:
        _check_ready(session, stage)
    if target == StageStatus.frozen:  # what participants keep seeing until the results are published
        session.exec(update(Standing).where(Standing.stage_id == stage.id).values(
            frozen_points=Standing.public_points, frozen_reached_at=Standing.reached_at))
        _stage_changed(session, stage.id)
    session.add(StageEvent(stage_id=stage.id, from_status=stage.status, to_status=target,
                           actor_id=actor.id if actor else None, actor="organiser" if actor else "clock",
                           reason=reason[:500], at=now or utcnow()))
    if actor is not None:  # the clock's own moves are the stage's schedule, not someone's action
        audit.record(session, actor, "tournament.stage_moved", object_type="stage", object_id=stage.id,
                     detail={"from": stage.status, "to": target, "reason": reason[:500]})
    stage.status = target
    session.add(stage)
    session.flush()
    return stage


def _check_ready(session: Session, stage: Stage) -> None:
    if as_utc(stage.closes_at) <= as_utc(stage.opens_at):
        raise InvalidField("closes_at", N_("The stage must close after it opens."))
    if not session.exec(select(Task.id).where(Task.stage_id == stage.id)).first():
        raise InvalidField("tasks", N_("Add at least one task before scheduling the stage."))
    previous = session.exec(select(Stage).where(Stage.season_id == stage.season_id,
                                                Stage.position == stage.position - 1)).first()
    if previous is not None and as_utc(previous.closes_at) > as_utc(stage.opens_at):
        raise InvalidField("opens_at", N_("A stage cannot open before the stage before it closes."))


def run_clock(session: Session, now: datetime | None = None) -> list[tuple[int, str]]:
    """The scheduled moves that are due (Celery beat calls this every minute): open, freeze, close."""
    now = now or utcnow()
    moved = []
    for found in session.exec(select(Stage).where(col(Stage.status).in_(
            [StageStatus.scheduled, StageStatus.open, StageStatus.frozen])).order_by(Stage.id)):
        while True:
            due = None
            if found.status == StageStatus.scheduled and as_utc(found.opens_at) <= now:
                due = StageStatus.open
            elif found.status in ACCEPTING and as_utc(found.closes_at) <= now:
                due = StageStatus.closed
            elif found.status == StageStatus.open and (f := freeze_at(found)) and f <= now:
                due = StageStatus.frozen
            if due is None:
                break
            move(session, found, due, None, now=now)
            moved.append((found.id, due.value))
    return moved


# ---------------------------------------------------------------- registration and eligibility

def eligible(category: Category, user: User) -> bool:
    if user.category not in category.admits:
        return False
    if user.category == ProfileCategory.school_student and (category.grade_min or category.grade_max):
        grade = user.school_grade or 0
        return (category.grade_min or 0) <= grade <= (category.grade_max or 99)
    return True


def categories_of(session: Session, season_id: int) -> list[Category]:
    return list(session.exec(select(Category).where(Category.season_id == season_id).order_by(Category.id)))


# ---------------------------------------------------------------- setting up a season (console and API)

def create_season(session: Session, actor: User, slug: str, title: dict) -> Season:
    require_organiser(actor)
    if session.exec(select(Season).where(Season.slug == slug)).first():
        raise InvalidField("slug", N_("A season with this address already exists."))
    season = Season(slug=slug, title=title, created_by=actor.id)
    _insert(session, season, InvalidField("slug", N_("A season with this address already exists.")))
    audit.record(session, actor, "tournament.season_created", object_type="season", object_id=season.id,
                 detail={"slug": slug})
    return season


def add_category(session: Session, actor: User, season: Season, slug: str, title: dict, admits: list[str],
                 grade_min: int | None = None, grade_max: int | None = None) -> Category:
    require_organiser(actor)
    if any(c.slug == slug for c in categories_of(session, season.id)):
        raise InvalidField("slug", N_("This season already has a category with this address."))
    if grade_min is not None and grade_max is not None and grade_min > grade_max:
        raise InvalidField("grade_max", N_("The last grade cannot come before the first."))
    category = Category(season_id=season.id, slug=slug, title=title, admits=list(admits), grade_min=grade_min,
                        grade_max=grade_max)
    _insert(session, category, InvalidField("slug", N_("This season already has a category with this address.")))
    audit.record(session, actor, "tournament.category_added", object_type="category", object_id=category.id,
                 detail={"season": season.id, "slug": slug})
    return category


def add_stage(session: Session, actor: User, season: Season, kind: str, title: dict, opens_at: datetime,
              closes_at: datetime, freeze_minutes: int = 0, advance_top: int | None = None,
              advance_threshold: float | None = None) -> Stage:
    """A new draft stage after the season's last one."""
    require_organiser(actor)
    if as_utc(closes_at) <= as_utc(opens_at):
        raise InvalidField("closes_at", N_("The stage must close after it opens."))
    stage = Stage(season_id=season.id, position=len(stages_of(session, season.id)) + 1, kind=StageKind(kind),
                  title=title, opens_at=as_utc(opens_at), closes_at=as_utc(closes_at), freeze_minutes=freeze_minutes,
                  advance_top=advance_top, advance_threshold=advance_threshold)
    _insert(session, stage, Conflict(N_("Another stage was added at the same moment. Reload the page and try again.")))
    audit.record(session, actor, "tournament.stage_added", object_type="stage", object_id=stage.id,
                 detail={"season": season.id, "position": stage.position, "kind": stage.kind})
    return stage


def _insert(session: Session, row, refusal: Exception) -> None:
    """Insert `row`, or raise `refusal` when its twin, sent at the same moment (a double click), got there first."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise refusal from None


def participant_of(session: Session, user: User | None, season_id: int) -> Participant | None:
    if user is None:
        return None
    return session.exec(select(Participant).where(Participant.season_id == season_id,
                                                  Participant.user_id == user.id)).first()


def register(session: Session, user: User, season: Season, category_slug: str, network: str = "") -> Participant:
    category = session.exec(select(Category).where(Category.season_id == season.id,
                                                   Category.slug == category_slug)).first()
    if category is None:
        raise InvalidField("category", N_("Choose one of the season's categories."))
    if not eligible(category, user):
        raise InvalidField("category", N_("Your profile does not fit this category (who you are, or your grade). Check 'My details' or choose another category."))
    existing = participant_of(session, user, season.id)
    if existing is not None:
        if existing.category_id != category.id:
            started = session.exec(select(Standing.id).where(Standing.participant_id == existing.id)).first()
            if started:
                raise InvalidField("category", N_("You have already taken part in another category of this season."))
            existing.category_id = category.id
            session.add(existing)
            session.flush()
        return existing
    participant = Participant(season_id=season.id, user_id=user.id, category_id=category.id,
                              region=user.region, registered_from=network[:64])
    session.add(participant)
    session.flush()
    return participant


def admitted(session: Session, participant: Participant, stage: Stage) -> bool:
    """Whether a participant takes part in a stage: everyone registered in the qualifier, later
    stages whom the stage before advanced. A disqualified participant takes part in nothing more."""
    if participant.disqualified_at is not None or participant.season_id != stage.season_id:
        return False
    if stage.position == 1:
        return True
    return session.exec(select(Advancement.id).where(Advancement.stage_id == stage.id,
                                                     Advancement.participant_id == participant.id)).first() is not None


def extra_minutes(session: Session, stage_id: int, participant_id: int) -> int:
    found = session.exec(select(ExtraTime.minutes).where(ExtraTime.stage_id == stage_id,
                                                         ExtraTime.participant_id == participant_id)).first()
    return found or 0


def closes_for(session: Session, stage: Stage, participant: Participant) -> datetime:
    """When the stage closes for this participant: its closing time plus any extra time granted."""
    return as_utc(stage.closes_at) + timedelta(minutes=extra_minutes(session, stage.id, participant.id))


def accepting(session: Session, stage: Stage, participant: Participant, now: datetime) -> bool:
    if as_utc(stage.opens_at) > now or stage.status in (StageStatus.draft, StageStatus.scheduled):
        return False
    if stage.status in ACCEPTING:
        return now < closes_for(session, stage, participant)
    # Closed by the clock, but this participant's extra time still runs.
    return stage.status == StageStatus.closed and now < closes_for(session, stage, participant)


@dataclass
class Place:
    """A signed-in person's place in a task: who they are in the season, and whether they may send."""

    task: Task
    stage: Stage
    participant: Participant


def task_by_public_id(session: Session, public_id: str) -> Task:
    task = session.exec(select(Task).where(Task.public_id == public_id)).first()
    if task is None:
        raise NotFound
    return task


def visible_task(session: Session, user: User | None, public_id: str) -> tuple[Task, Stage, Participant | None]:
    """A task as its participants (and organisers) see it; a draft stage's tasks are organisers' only."""
    task = task_by_public_id(session, public_id)
    found = session.get(Stage, task.stage_id)
    participant = participant_of(session, user, found.season_id)
    if is_organiser(user):
        return task, found, participant
    if found.status in (StageStatus.draft, StageStatus.scheduled):
        raise NotFound
    return task, found, participant


def place_in(session: Session, user: User, task: Task, lock: bool = False) -> Place:
    found = session.get(Stage, task.stage_id)
    query = select(Participant).where(Participant.season_id == found.season_id, Participant.user_id == user.id)
    if lock:  # one entry at a time per participant: two sent at the same instant cannot both pass the limit
        query = query.with_for_update()
    participant = session.exec(query).first()
    if participant is None or participant.category_id != task.category_id or not admitted(session, participant, found):
        raise NotEligible
    return Place(task, found, participant)


# ---------------------------------------------------------------- practical tasks: data from the organiser

@dataclass
class TaskFiles:
    train: bytes
    test: bytes
    labels: bytes  # id, target, split (public | private)
    starter: bytes | None = None
    starter_name: str = "starter.py"  # kept under its own name: its instructions say `python late_bus.py`


def _csv_rows(data: bytes, name: str) -> tuple[list[str], list[list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidField(name, N_("The file is not in UTF-8. Save it as CSV UTF-8 and send it again.")) from None
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if not rows:
        raise InvalidField(name, N_("The file is empty."))
    return [cell.strip() for cell in rows[0]], rows[1:]


def _lines(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers[:10]) + (" …" if len(numbers) > 10 else "")


def read_task_files(files: TaskFiles, id_column: str, target_column: str, metric: str,
                    classes: list[str] | None) -> tuple[list[str], dict, list[str], list[float]]:
    """(test ids, labels, private ids, training targets) of an organiser's upload, or InvalidField naming
    the file and its rows: ids of the labels must be exactly the test file's ids."""
    header, train = _csv_rows(files.train, "train")
    if id_column not in header or target_column not in header:
        raise InvalidField("train", N_("The training file must have the columns %(columns)s."),
                           columns=f"{id_column}, {target_column}")
    target_at = header.index(target_column)
    header, test = _csv_rows(files.test, "test")
    if id_column not in header:
        raise InvalidField("test", N_("The test file must have the id column."))
    if target_column in header:
        raise InvalidField("test", N_("The test file must not contain the target column: participants would see the answers."))
    id_at = header.index(id_column)
    test_ids = [row[id_at].strip() for row in test]
    if len(set(test_ids)) != len(test_ids):
        raise InvalidField("test", N_("Some ids appear twice in the test file."))
    header, label_rows = _csv_rows(files.labels, "labels")
    if header[:3] != [id_column, target_column, "split"]:
        raise InvalidField("labels", N_("The labels file must have the columns id, target and split (public or private), in that order."))
    labels, private, bad, unknown = {}, [], [], []
    known = set(test_ids)
    for line, row in enumerate(label_rows, start=2):
        if len(row) < 3 or row[2].strip() not in ("public", "private") or row[0].strip() in labels:
            bad.append(line)
            continue
        row_id = row[0].strip()
        if row_id not in known:
            unknown.append(line)
            continue
        labels[row_id] = row[1].strip()
        if row[2].strip() == "private":
            private.append(row_id)
    if bad or unknown:
        raise InvalidField("labels", N_("The labels do not match the test file: lines %(lines)s name unknown, repeated or unsplit ids."),
                           lines=_lines(bad + unknown))
    missing = [i for i in test_ids if i not in labels]
    if missing:
        raise InvalidField("labels", N_("%(count)s test ids have no label, for example %(ids)s."),
                           count=len(missing), ids=", ".join(missing[:5]))
    if not private or len(private) == len(labels):
        raise InvalidField("labels", N_("Both splits need rows: some test rows public, some private."))
    if metric in ("mae", "rmse", "roc_auc"):
        try:
            labels = {k: float(v) for k, v in labels.items()}
        except ValueError:
            raise InvalidField("labels", N_("Every target must be a number for this metric.")) from None
    elif classes is not None and not set(labels.values()) <= set(classes):
        raise InvalidField("labels", N_("Some targets are not among the task's classes."))
    targets = []
    if metric in ("mae", "rmse"):
        for row in train:
            try:
                targets.append(float(row[target_at]))
            except (ValueError, IndexError):
                continue
    return test_ids, labels, private, targets


def add_practical_task(session: Session, actor: User | None, stage: Stage, category: Category, *, title: dict,
                       description: dict, metric: str, id_column: str, target_column: str, files: TaskFiles,
                       var_dir: Path, classes: list[str] | None = None, value_range: tuple | None = None,
                       daily_limit: int = 5, total_limit: int = 50, position: int = 1,
                       public_id: str | None = None) -> Task:
    if stage.status not in (StageStatus.draft, StageStatus.scheduled):
        raise Conflict(N_("Tasks can be added only before the stage opens."))
    test_ids, labels, private, targets = read_task_files(files, id_column, target_column, metric, classes)
    task = Task(public_id=public_id or new_public_id(), stage_id=stage.id, category_id=category.id,
                kind=TaskKind.practical, position=position, title=title, description=description, metric=metric,
                id_column=id_column, target_column=target_column, classes=classes,
                value_min=value_range[0] if value_range else None, value_max=value_range[1] if value_range else None,
                zero_point=scoring.zero_point_of(metric, targets, labels), daily_limit=daily_limit,
                total_limit=total_limit)
    session.add(task)
    session.flush()
    session.add(TaskLabels(task_id=task.id, version=1, metric=metric, labels=labels, private_ids=private,
                           uploaded_by=actor.id if actor else None))
    folder = files_dir(var_dir, task)
    write_atomically(folder / "train.csv", files.train)
    write_atomically(folder / "test.csv", files.test)
    if files.starter:
        if not re.fullmatch(r"[a-z0-9_]{1,60}\.py", files.starter_name):
            raise InvalidField("starter", N_("The starter script's name may hold only small Latin letters, digits and _ and must end in .py."))
        write_atomically(folder / files.starter_name, files.starter)
    session.flush()
    audit.record(session, actor, "tournament.task_added", object_type="task", object_id=task.public_id,
                 detail={"stage": stage.id, "kind": task.kind, "metric": metric})
    return task


def add_quiz_task(session: Session, stage: Stage, category: Category, *, title: dict, description: dict,
                  questions: list[dict], draw: int, minutes: int, position: int | None = None,
                  public_id: str | None = None, actor: User | None = None) -> Task:
    """A timed quiz drawn from `questions`; after the category's other tasks unless `position` is given."""
    if stage.status not in (StageStatus.draft, StageStatus.scheduled):
        raise Conflict(N_("Tasks can be added only before the stage opens."))
    if len(questions) < draw:
        raise InvalidField("draw", N_("The bank has fewer questions than the attempt draws."))
    position = position or len(stage_tasks(session, stage.id, category.id)) + 1
    task = Task(public_id=public_id or new_public_id(), stage_id=stage.id, category_id=category.id, kind=TaskKind.quiz,
                position=position, title=title, description=description, questions=questions, draw=draw,
                minutes=minutes, daily_limit=1, total_limit=1)
    session.add(task)
    session.flush()
    audit.record(session, actor, "tournament.task_added", object_type="task", object_id=task.public_id,
                 detail={"stage": stage.id, "kind": task.kind, "questions": len(questions), "draw": draw})
    return task


def read_bank(kk: bytes, ru: bytes, draw: int) -> list[dict]:
    """A quiz task's question bank from its two uploaded files (the course quiz format, one per language),
    checked as a course quiz is; at least `draw` questions."""
    with tempfile.TemporaryDirectory() as folder:
        for lang, data in (("kk", kk), ("ru", ru)):
            (Path(folder) / lang).mkdir()
            (Path(folder) / lang / "bank.yaml").write_bytes(data)
        questions, errors = read_question_bank(Path(folder), "bank.yaml", minimum=draw)
    if errors:
        first = errors[0]
        raise InvalidField(f"bank_{first.path.parent.name}" if first.path.parent.name in ("kk", "ru") else "bank_kk",
                           N_("The question bank has %(count)s problems; the first: %(first)s"),
                           count=len(errors), first=f"{first.path.parent.name}, {first.line}: {first.message}")
    return [{"slug": q.id, "kind": q.kind, "key": q.key, "text": q.text} for q in questions]


def current_labels(session: Session, task: Task, version: int | None = None) -> TaskLabels:
    return session.exec(select(TaskLabels).where(TaskLabels.task_id == task.id,
                                                 TaskLabels.version == (version or task.scorer_version))).one()


def starter_of(var_dir: Path, task: Task) -> Path | None:
    return next(iter(sorted(files_dir(var_dir, task).glob("*.py"))), None)


def test_ids(var_dir: Path, task: Task) -> list[str]:
    path = files_dir(var_dir, task) / "test.csv"
    return list(_test_ids(path, path.stat().st_mtime_ns, task.id_column))


@lru_cache(maxsize=64)
def _test_ids(path: Path, _version: int, id_column: str) -> tuple[str, ...]:
    """The test file's ids, read once per file version (every entry is checked against them)."""
    header, rows = _csv_rows(path.read_bytes(), "test")
    at = header.index(id_column)
    return tuple(row[at].strip() for row in rows)


def spec_of(var_dir: Path, task: Task) -> scoring.Spec:
    return scoring.Spec(task.id_column, task.target_column, test_ids(var_dir, task), task.classes,
                        task.value_min, task.value_max, task.max_file_bytes)


# ---------------------------------------------------------------- entries

@dataclass
class Sent:
    entry: Entry
    problems: list[scoring.Problem]
    more: int = 0


def _counted(session: Session, task_id: int, participant_id: int, day=None) -> int:
    query = select(func.count()).select_from(Entry).where(Entry.task_id == task_id,
                                                         Entry.participant_id == participant_id,
                                                         col(Entry.counted).is_(True))
    if day is not None:
        query = query.where(Entry.day == day)
    return session.exec(query).one()


def send_entry(session: Session, user: User, task: Task, filename: str, data: bytes, var_dir: Path,
               now: datetime | None = None) -> Sent:
    """Store an entry: checked at once (a malformed file is kept, rejected with its reasons and not
    counted), then queued for scoring. Limits count only entries that are or may still be scored."""
    now = now or utcnow()
    if task.kind != TaskKind.practical:
        raise NotFound
    place = place_in(session, user, task, lock=True)
    if not accepting(session, place.stage, place.participant, now):
        raise StageNotOpen(now=local_text(now))
    checked = scoring.check_predictions(data, spec_of(var_dir, task))
    entry = Entry(public_id=new_public_id(), task_id=task.id, participant_id=place.participant.id,
                  day=local_day(now), filename=(filename or "predictions.csv")[:200], size=len(data),
                  sha256=hashlib.sha256(data).hexdigest(), created_at=now)
    if not checked.ok:
        entry.status, entry.counted = EntryStatus.rejected, False
        entry.errors = [{"line": p.line, "message": p.message, "values": p.values} for p in checked.problems]
    else:
        if _counted(session, task.id, place.participant.id) >= task.total_limit:
            raise TotalLimit(limit=task.total_limit)
        if _counted(session, task.id, place.participant.id, entry.day) >= task.daily_limit:
            raise DailyLimit(limit=task.daily_limit)
        entry.status, entry.queued_at = EntryStatus.queued, now
    session.add(entry)
    session.flush()
    write_atomically(entry_path(var_dir, entry), data)  # kept, a rejected one too, for its owner to look at again
    return Sent(entry, checked.problems, checked.more)


def entry_for(session: Session, user: User, public_id: str) -> Entry:
    """An entry for its owner or an organiser; anyone else gets NotFound, as if it did not exist."""
    entry = session.exec(select(Entry).where(Entry.public_id == public_id)).first()
    if entry is None:
        raise NotFound
    if not is_organiser(user):
        owner = session.get(Participant, entry.participant_id)
        if owner is None or owner.user_id != user.id:
            raise NotFound
    return entry


def my_entries(session: Session, participant: Participant, task: Task) -> list[Entry]:
    return list(session.exec(select(Entry).where(Entry.task_id == task.id, Entry.participant_id == participant.id)
                             .order_by(col(Entry.id).desc())))


def queue_position(session: Session, entry: Entry) -> int | None:
    """How many entries wait before this one in the scoring queue (0: being scored or next)."""
    if entry.status not in (EntryStatus.queued, EntryStatus.scoring):
        return None
    return session.exec(select(func.count()).select_from(Entry).where(
        col(Entry.status).in_([EntryStatus.queued, EntryStatus.scoring]), Entry.id < entry.id)).one()


def limits_left(session: Session, participant: Participant, task: Task, now: datetime | None = None) -> tuple[int, int]:
    day = local_day(now or utcnow())
    return (max(0, task.daily_limit - _counted(session, task.id, participant.id, day)),
            max(0, task.total_limit - _counted(session, task.id, participant.id)))


def select_entries(session: Session, user: User, task: Task, public_ids: list[str]) -> list[Entry]:
    """Pick up to two scored entries for the final ranking (an empty list: the best public ones count)."""
    place = place_in(session, user, task)
    if len(set(public_ids)) > 2:
        raise InvalidField("entries", N_("Choose at most two entries for the final ranking."))
    if place.stage.status not in ACCEPTING:
        raise StageNotOpen(now=local_text(utcnow()))
    entries = my_entries(session, place.participant, task)
    chosen = {e.public_id for e in entries if e.public_id in set(public_ids) and e.status == EntryStatus.scored}
    if len(chosen) != len(set(public_ids)):
        raise InvalidField("entries", N_("Only your own scored entries can be chosen."))
    for entry in entries:
        entry.selected = entry.public_id in chosen
        session.add(entry)
    session.flush()
    refresh_standing(session, place.stage, place.participant)
    return [e for e in entries if e.selected]


# ---------------------------------------------------------------- scoring

def score_entry(session: Session, entry_id: int, var_dir: Path, version: int | None = None,
                now: datetime | None = None) -> str:
    """Score one entry under a scorer version (the task's current one when None). Unique per (entry,
    version): a repeat finds the score there and changes nothing. Returns what happened."""
    entry = session.exec(select(Entry).where(Entry.id == entry_id).with_for_update()).first()
    if entry is None or entry.status == EntryStatus.rejected:
        return "missing"
    # One standing update at a time per participant: two workers scoring two entries of the same person
    # would otherwise both insert their first standing.
    session.exec(select(Participant.id).where(Participant.id == entry.participant_id).with_for_update()).first()
    task = session.get(Task, entry.task_id)
    version = version or task.scorer_version
    existing = session.exec(select(EntryScore).where(EntryScore.entry_id == entry.id,
                                                     EntryScore.version == version)).first()
    if existing is None:
        labels = current_labels(session, task, version)
        checked = scoring.check_predictions(entry_path(var_dir, entry).read_bytes(), spec_of(var_dir, task))
        if not checked.ok:  # cannot happen for a checked file; the organiser changed the test ids
            entry.status, entry.counted = EntryStatus.failed, False
            session.add(entry)
            session.flush()
            return "failed"
        result = scoring.score(labels.metric, checked.predictions, labels.labels, labels.private_ids, task.zero_point)
        entry.bands = entry.bands or scoring.fingerprint(
            checked.predictions, labels.labels if labels.metric in ("accuracy", "macro_f1") else None)
        existing = EntryScore(entry_id=entry.id, version=version, public_score=result.public,
                              private_score=result.private, public_points=result.public_points,
                              private_points=result.private_points, scored_at=now or utcnow())
        session.add(existing)
        outcome = "scored"
    else:
        outcome = "kept"
    if version == task.scorer_version:
        _apply(entry, existing)
        entry.status = EntryStatus.scored
        entry.scored_at = entry.scored_at or existing.scored_at
        session.add(entry)
        session.flush()
        found = session.get(Stage, task.stage_id)
        if found.status != StageStatus.locked and found.status != StageStatus.published:
            refresh_standing(session, found, session.get(Participant, entry.participant_id))
    session.flush()
    return outcome


def _apply(entry: Entry, result: EntryScore) -> None:
    entry.public_score, entry.private_score = result.public_score, result.private_score
    entry.public_points, entry.private_points = result.public_points, result.private_points
    entry.scored_version = result.version


def begin_scoring(session: Session, entry_id: int, now: datetime | None = None) -> bool:
    """Mark an entry as being scored (counts a try); False when there is nothing to do."""
    entry = session.get(Entry, entry_id)
    if entry is None or entry.status not in (EntryStatus.queued, EntryStatus.scoring):
        return False
    entry.status, entry.tries = EntryStatus.scoring, entry.tries + 1
    entry.queued_at = now or utcnow()
    session.add(entry)
    session.flush()
    return True


def scoring_failed(session: Session, entry_id: int) -> None:
    """A try that raised: after MAX_TRIES the entry is failed and the participant gets the attempt back."""
    entry = session.get(Entry, entry_id)
    if entry is None or entry.status == EntryStatus.scored:
        return
    if entry.tries >= MAX_TRIES:
        entry.status, entry.counted = EntryStatus.failed, False
    else:
        entry.status = EntryStatus.queued
    session.add(entry)
    session.flush()


def stuck_entries(session: Session, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Entries queued or being scored for longer than STUCK_AFTER (a dead worker, a lost message)."""
    cutoff = (now or utcnow()) - STUCK_AFTER
    return list(session.exec(select(Entry.id).where(
        col(Entry.status).in_([EntryStatus.queued, EntryStatus.scoring]), col(Entry.queued_at) < cutoff)
        .order_by(Entry.id).limit(limit)))


def requeue(session: Session, entry_ids: list[int], now: datetime | None = None, actor: User | None = None) -> list[int]:
    """Stuck entries queued again (or failed after MAX_TRIES); `actor`: an organiser who asked (else the sweeper)."""
    now = now or utcnow()
    again, failed = [], 0
    for entry in session.exec(select(Entry).where(col(Entry.id).in_(entry_ids))):
        if entry.status not in (EntryStatus.queued, EntryStatus.scoring):
            continue
        if entry.tries >= MAX_TRIES:
            entry.status, entry.counted = EntryStatus.failed, False
            failed += 1
        else:
            entry.status, entry.queued_at = EntryStatus.queued, now
            again.append(entry.id)
        session.add(entry)
    session.flush()
    if actor is not None and (again or failed):
        audit.record(session, actor, "tournament.entries_requeued", object_type="entries",
                     detail={"requeued": len(again), "failed": failed})
    return again


# ---------------------------------------------------------------- quiz tasks

def bank_items(task: Task) -> dict[str, QuestionItem]:
    return {q["slug"]: QuestionItem(id=n, slug=q["slug"], kind=QuestionKind(q["kind"]), key=q["key"], text=q["text"])
            for n, q in enumerate(task.questions or [], start=1)}


def run_questions(task: Task, run: QuizRun) -> list[QuestionItem]:
    items = bank_items(task)
    return [items[slug] for slug in run.question_slugs if slug in items]


def start_quiz(session: Session, user: User, task: Task, now: datetime | None = None) -> QuizRun:
    """The participant's run of a quiz task, started now if new: questions drawn, the deadline fixed (the
    quiz's minutes, never beyond the stage's end for this participant)."""
    now = now or utcnow()
    if task.kind != TaskKind.quiz:
        raise NotFound
    place = place_in(session, user, task, lock=True)
    run = session.exec(select(QuizRun).where(QuizRun.task_id == task.id,
                                             QuizRun.participant_id == place.participant.id)).first()
    if run is not None:
        return run
    if not accepting(session, place.stage, place.participant, now):
        raise StageNotOpen(now=local_text(now))
    rng = random.Random(secrets.randbits(128))
    items = list(bank_items(task).values())
    chosen = rng.sample(items, min(task.draw or len(items), len(items)))
    extra = timedelta(minutes=extra_minutes(session, place.stage.id, place.participant.id))
    deadline = min(now + timedelta(minutes=task.minutes or 30) + extra, closes_for(session, place.stage, place.participant))
    run = QuizRun(public_id=new_public_id(), task_id=task.id, participant_id=place.participant.id,
                  question_slugs=[q.slug for q in chosen], layout=courses.draw_layout(chosen, rng),
                  started_at=now, deadline_at=deadline)
    session.add(run)
    session.flush()
    return run


def run_for(session: Session, user: User, public_id: str) -> tuple[QuizRun, Task]:
    run = session.exec(select(QuizRun).where(QuizRun.public_id == public_id)).first()
    if run is None:
        raise NotFound
    participant = session.get(Participant, run.participant_id)
    if participant.user_id != user.id and not is_organiser(user):
        raise NotFound
    return run, session.get(Task, run.task_id)


def save_answers(session: Session, run: QuizRun, task: Task, answers: dict, now: datetime | None = None) -> QuizRun:
    """Keep answers as they come (a dropped connection loses nothing); refused once time is up."""
    now = now or utcnow()
    if run.finished_at is not None:
        raise QuizOver(now=local_text(now))
    if now > as_utc(run.deadline_at) + QUIZ_GRACE:
        finish_quiz(session, run, task, now)
        raise QuizOver(now=local_text(now))
    known = {q.slug for q in run_questions(task, run)}
    run.answers = {**run.answers, **{k: v for k, v in answers.items() if k in known}}
    session.add(run)
    session.flush()
    return run


def finish_quiz(session: Session, run: QuizRun, task: Task, now: datetime | None = None) -> QuizRun:
    """Grade the saved answers (an unanswered or malformed one is wrong) and update the standing."""
    if run.finished_at is not None:
        return run
    now = now or utcnow()
    questions = run_questions(task, run)
    parsed, _errors = courses.parse_answers(questions, run.answers, run)
    right = sum(1 for q in questions if q.slug in parsed and courses.is_correct(q, parsed[q.slug]))
    run.score = round(100 * right / len(questions), 4) if questions else 0.0
    run.finished_at = min(now, as_utc(run.deadline_at) + QUIZ_GRACE)
    session.add(run)
    session.flush()
    found = session.get(Stage, task.stage_id)
    if found.status not in (StageStatus.locked, StageStatus.published):
        refresh_standing(session, found, session.get(Participant, run.participant_id))
    return run


def overdue_runs(session: Session, now: datetime | None = None, limit: int = 1000) -> list[int]:
    cutoff = (now or utcnow()) - QUIZ_GRACE
    return list(session.exec(select(QuizRun.id).where(col(QuizRun.finished_at).is_(None),
                                                      col(QuizRun.deadline_at) < cutoff).limit(limit)))


# ---------------------------------------------------------------- standings

def _best_of(entries: list[Entry]) -> tuple[float, float, datetime | None]:
    """(public points, private points, when the public best was first reached) of a task's entries."""
    scored = [e for e in entries if e.status == EntryStatus.scored and e.public_points is not None]
    if not scored:
        return 0.0, 0.0, None
    best = max(scored, key=lambda e: (e.public_points, -as_utc(e.created_at).timestamp()))
    chosen = [e for e in scored if e.selected]
    if not chosen:  # none picked: the two best public entries count
        chosen = sorted(scored, key=lambda e: (-e.public_points, as_utc(e.created_at)))[:2]
    return best.public_points, max(e.private_points for e in chosen), as_utc(best.created_at)


def refresh_standing(session: Session, found: Stage, participant: Participant) -> Standing | None:
    """Recompute a participant's standing in a stage from their entries and quiz runs (a few rows)."""
    tasks = list(session.exec(select(Task).where(Task.stage_id == found.id, Task.category_id == participant.category_id)))
    if not tasks:
        return None
    ids = [t.id for t in tasks]
    entries = list(session.exec(select(Entry).where(col(Entry.task_id).in_(ids), Entry.participant_id == participant.id)))
    runs = {r.task_id: r for r in session.exec(select(QuizRun).where(col(QuizRun.task_id).in_(ids),
                                                                      QuizRun.participant_id == participant.id))}
    per_task, public, private, reached = {}, 0.0, 0.0, None
    for task in tasks:
        if task.kind == TaskKind.quiz:
            run = runs.get(task.id)
            if run is None or run.score is None:
                continue
            pub = priv = run.score
            at = as_utc(run.finished_at)
        else:
            pub, priv, at = _best_of([e for e in entries if e.task_id == task.id])
            if at is None:
                continue
        per_task[str(task.id)] = {"public": pub, "private": priv}
        public, private = public + pub, private + priv
        reached = at if reached is None or at > reached else reached
    if reached is None:
        return None
    reached = reached.replace(microsecond=0)  # the boards order ties to the second (see leaderboard.py)
    standing = session.exec(select(Standing).where(Standing.stage_id == found.id,
                                                   Standing.participant_id == participant.id)).first()
    if standing is None:
        standing = Standing(stage_id=found.id, participant_id=participant.id, category_id=participant.category_id,
                            region=participant.region, frozen_reached_at=reached)
    if round(public, 4) != round(standing.public_points, 4) or standing.id is None:
        standing.reached_at = reached
    standing.public_points, standing.private_points = round(public, 4), round(private, 4)
    standing.tasks = per_task
    standing.excluded = participant.disqualified_at is not None
    session.add(standing)
    session.flush()
    for hook in standing_hooks:
        hook(session, standing)
    return standing


def refresh_stage(session: Session, found: Stage) -> int:
    """Every standing of a stage recomputed (after a re-score); returns how many."""
    participants = session.exec(select(Participant).where(Participant.id.in_(
        select(Entry.participant_id).join(Task, Task.id == Entry.task_id).where(Task.stage_id == found.id)
        .union(select(QuizRun.participant_id).join(Task, Task.id == QuizRun.task_id).where(Task.stage_id == found.id)))))
    count = 0
    for participant in participants:
        refresh_standing(session, found, participant)
        count += 1
    return count


# ---------------------------------------------------------------- re-scoring

def start_rescore(session: Session, actor: User, task: Task, labels: bytes | None = None, metric: str | None = None,
                  var_dir: Path | None = None) -> int:
    """A new scorer version (fixed labels, or another metric); its scores are computed in the background
    and the leaderboard switches to them once every entry has one. Returns the new version."""
    require_organiser(actor)
    found = session.get(Stage, task.stage_id)
    if found.status in (StageStatus.locked, StageStatus.published):
        raise ResultsLocked
    previous = current_labels(session, task)
    new_metric = metric or previous.metric
    if new_metric not in scoring.HIGHER_IS_BETTER | {"mae", "rmse"}:
        raise InvalidField("metric", N_("Choose one of the metrics."))
    values, private = previous.labels, previous.private_ids
    if labels is not None:
        files = TaskFiles((files_dir(var_dir, task) / "train.csv").read_bytes(),
                          (files_dir(var_dir, task) / "test.csv").read_bytes(), labels)
        _, values, private, targets = read_task_files(files, task.id_column, task.target_column, new_metric, task.classes)
        if new_metric in ("mae", "rmse"):
            task.zero_point = scoring.zero_point_of(new_metric, targets, values)
    version = (session.exec(select(func.max(TaskLabels.version)).where(TaskLabels.task_id == task.id)).one() or 0) + 1
    session.add(TaskLabels(task_id=task.id, version=version, metric=new_metric, labels=values, private_ids=private,
                           uploaded_by=actor.id))
    task.rescoring_version = version
    session.add(task)
    session.flush()
    audit.record(session, actor, "tournament.task_rescored", object_type="task", object_id=task.public_id,
                 detail={"version": version, "metric": new_metric, "new_labels": labels is not None})
    return version


def rescore_progress(session: Session, task: Task) -> tuple[int, int]:
    """(entries scored under the version being computed, entries to score)."""
    version = task.rescoring_version
    total = session.exec(select(func.count()).select_from(Entry).where(
        Entry.task_id == task.id, Entry.status == EntryStatus.scored)).one()
    if version is None:
        return total, total
    done = session.exec(select(func.count()).select_from(EntryScore).join(Entry, Entry.id == EntryScore.entry_id).where(
        Entry.task_id == task.id, EntryScore.version == version)).one()
    return done, total


def to_rescore(session: Session, task: Task, limit: int = 500) -> list[int]:
    version = task.rescoring_version
    done = select(EntryScore.entry_id).where(EntryScore.version == version)
    return list(session.exec(select(Entry.id).where(Entry.task_id == task.id, Entry.status == EntryStatus.scored,
                                                   col(Entry.id).not_in(done)).order_by(Entry.id).limit(limit)))


def finish_rescore(session: Session, task: Task) -> bool:
    """Switch the task to its new version once every entry has a score under it (all at once)."""
    done, total = rescore_progress(session, task)
    if task.rescoring_version is None or done < total:
        return False
    version = task.rescoring_version
    for entry, result in session.exec(select(Entry, EntryScore).join(EntryScore, EntryScore.entry_id == Entry.id)
                                      .where(Entry.task_id == task.id, EntryScore.version == version)):
        _apply(entry, result)
        session.add(entry)
    task.scorer_version, task.rescoring_version = version, None
    session.add(task)
    session.flush()
    refresh_stage(session, session.get(Stage, task.stage_id))
    return True


# ---------------------------------------------------------------- organisers: people

def disqualify(session: Session, actor: User, participant: Participant, reason: str) -> Participant:
    require_organiser(actor)
    participant.disqualified_at = utcnow()
    participant.disqualified_reason = _clean_reason(reason)
    participant.disqualified_by = actor.id
    session.add(participant)
    session.exec(update(Standing).where(Standing.participant_id == participant.id).values(excluded=True))
    audit.record(session, actor, "tournament.entry_disqualified", object_type="participant", object_id=participant.id,
                 affected=participant.user_id, detail={"reason": participant.disqualified_reason})
    for stage_id in session.exec(select(Standing.stage_id).where(Standing.participant_id == participant.id)).all():
        _stage_changed(session, stage_id)
    return participant


def grant_extra_time(session: Session, actor: User, found: Stage, participant: Participant, minutes: int,
                     reason: str) -> ExtraTime:
    require_organiser(actor)
    if not 1 <= minutes <= 24 * 60:
        raise InvalidField("minutes", N_("Extra time is between 1 minute and 24 hours."))
    reason = _clean_reason(reason)
    grant = session.exec(select(ExtraTime).where(ExtraTime.stage_id == found.id,
                                                 ExtraTime.participant_id == participant.id)).first()
    grant = grant or ExtraTime(stage_id=found.id, participant_id=participant.id, minutes=minutes, reason=reason)
    grant.minutes, grant.reason, grant.granted_by, grant.granted_at = minutes, reason, actor.id, utcnow()
    session.add(grant)
    session.flush()
    audit.record(session, actor, "tournament.extra_time_granted", object_type="stage", object_id=found.id,
                 affected=participant.user_id, detail={"minutes": minutes, "reason": reason})
    return grant


def appeal(session: Session, user: User, found: Stage, text: str) -> Appeal:
    participant = participant_of(session, user, found.season_id)
    if participant is None:
        raise NotEligible
    text = (text or "").strip()
    if not text:
        raise InvalidField("text", N_("Please write what your appeal is about."))
    filed = Appeal(stage_id=found.id, participant_id=participant.id, text=text[:2000])
    session.add(filed)
    session.flush()
    return filed


def answer_appeal(session: Session, actor: User, appeal_id: int, answer: str) -> Appeal:
    require_organiser(actor)
    filed = session.get(Appeal, appeal_id)
    if filed is None:
        raise NotFound
    answer = (answer or "").strip()
    if not answer:
        raise InvalidField("answer", N_("Please write the answer."))
    filed.answer, filed.answered_by, filed.answered_at = answer[:2000], actor.id, utcnow()
    session.add(filed)
    session.flush()
    participant = session.get(Participant, filed.participant_id)
    audit.record(session, actor, "tournament.appeal_answered", object_type="appeal", object_id=filed.id,
                 affected=participant.user_id if participant else None)
    return filed


# ---------------------------------------------------------------- advancement and results

def next_stage(session: Session, found: Stage) -> Stage | None:
    return session.exec(select(Stage).where(Stage.season_id == found.season_id,
                                            Stage.position == found.position + 1)).first()


def final_order(session: Session, found: Stage, category_id: int | None = None, region: str | None = None,
                *columns):
    """Standings (with any `columns` joined in) by the final (private) points, ties to whoever reached
    their points first, then the later registration: the published leaderboard's order."""
    query = select(Standing, *columns).where(Standing.stage_id == found.id, Standing.excluded == false())
    if category_id is not None:
        query = query.where(Standing.category_id == category_id)
    if region is not None:
        query = query.where(Standing.region == region)
    return query.order_by(col(Standing.private_points).desc(), Standing.reached_at, col(Standing.participant_id).desc())


def advance(session: Session, actor: User, found: Stage) -> int:
    """Admit to the next stage the top N per region and category and/or everyone above the threshold,
    by the final points. Needs the results locked; running it again adds nobody twice."""
    require_organiser(actor)
    if found.status not in (StageStatus.locked, StageStatus.published):
        raise Conflict(N_("Lock the results before computing who advances."))
    target = next_stage(session, found)
    if target is None:
        raise Conflict(N_("This is the last stage: nobody advances from it."))
    if found.advance_top is None and found.advance_threshold is None:
        raise InvalidField("advance_top", N_("Set how many advance per region and category, or a score threshold."))
    already = set(session.exec(select(Advancement.participant_id).where(Advancement.stage_id == target.id)))
    added = 0
    groups = session.exec(select(Standing.category_id, Standing.region).where(Standing.stage_id == found.id)
                          .distinct()).all()
    for category_id, region in groups:
        for rank, standing in enumerate(session.exec(final_order(session, found, category_id, region)), start=1):
            by_rank = found.advance_top is None or rank <= found.advance_top
            by_score = found.advance_threshold is None or standing.private_points >= found.advance_threshold
            if not (by_rank and by_score):
                if found.advance_top is not None and rank > found.advance_top:
                    break
                continue
            if standing.participant_id in already:
                continue
            session.add(Advancement(stage_id=target.id, participant_id=standing.participant_id, rank=rank,
                                    points=standing.private_points))
            added += 1
    session.flush()
    audit.record(session, actor, "tournament.stage_advanced", object_type="stage", object_id=found.id,
                 detail={"to_stage": target.id, "advanced": added})
    return added


def awards(session: Session, found: Stage) -> list[tuple[int, str, int | None, float | None]]:
    """(user id, award, place, points) of everyone ranked in a published stage: places per region for a
    regional round, per category nationally otherwise."""
    if found.status != StageStatus.published:
        raise Conflict(N_("Publish the results before handing out diplomas."))
    out = []
    by_region = found.kind == StageKind.regional
    groups = session.exec(select(Standing.category_id, Standing.region).where(Standing.stage_id == found.id).distinct()).all()
    keys = sorted({(c, r if by_region else None) for c, r in groups}, key=lambda k: (k[0], k[1] or ""))
    for category_id, region in keys:
        rows = session.exec(final_order(session, found, category_id, region, Participant.user_id)
                            .join(Participant, Participant.id == Standing.participant_id)).all()
        for place, (standing, user_id) in enumerate(rows, start=1):
            award = ("winner" if place <= found.winner_places else
                     "prize_winner" if place <= found.winner_places + found.prize_places else "participant")
            out.append((user_id, award, place, standing.private_points))
    return out


# ---------------------------------------------------------------- review flags

@dataclass
class Flag:
    kind: str  # same_file | near_file | fast_quiz | one_network
    detail: str
    participants: list[int]


def flags(session: Session, found: Stage) -> list[Flag]:
    """What an organiser should look at: the same predictions file from different people, quizzes finished
    implausibly fast, many registrations from one address within an hour."""
    out = []
    task_ids = [t for t in session.exec(select(Task.id).where(Task.stage_id == found.id))]
    if task_ids:
        rows = session.exec(select(Entry.sha256, func.count(func.distinct(Entry.participant_id)))
                            .where(col(Entry.task_id).in_(task_ids), Entry.status == EntryStatus.scored)
                            .group_by(Entry.sha256).having(func.count(func.distinct(Entry.participant_id)) > 1)).all()
        for digest, _count in rows:
            people = sorted(set(session.exec(select(Entry.participant_id).where(Entry.sha256 == digest,
                                                                               col(Entry.task_id).in_(task_ids)))))
            out.append(Flag("same_file", digest[:12], people))
        for task_id in task_ids:
            out.extend(_near_identical(session, task_id))
        for run in session.exec(select(QuizRun).where(col(QuizRun.task_id).in_(task_ids),
                                                      col(QuizRun.finished_at).is_not(None))):
            seconds = (as_utc(run.finished_at) - as_utc(run.started_at)).total_seconds()
            if run.question_slugs and seconds < FAST_SECONDS_PER_QUESTION * len(run.question_slugs) and (run.score or 0) >= 50:
                out.append(Flag("fast_quiz", f"{int(seconds)} s / {len(run.question_slugs)}", [run.participant_id]))
    hour = func.strftime("%Y-%m-%d %H", Participant.registered_at) if session.get_bind().dialect.name == "sqlite" \
        else func.date_trunc("hour", Participant.registered_at)
    rows = session.exec(select(Participant.registered_from, hour, func.count()).where(
        Participant.season_id == found.season_id, Participant.registered_from != "")
        .group_by(Participant.registered_from, hour).having(func.count() >= MANY_FROM_ONE_NETWORK)).all()
    for network, _hour, count in rows:
        people = list(session.exec(select(Participant.id).where(Participant.season_id == found.season_id,
                                                                Participant.registered_from == network).limit(50)))
        out.append(Flag("one_network", f"{network}: {count}", people))
    return out


def _near_identical(session: Session, task_id: int) -> list[Flag]:
    """Pairs of people whose scored files of one task agree on nearly every band of rows but are not the
    same file (a copy re-rounded, re-sorted or with a few rows changed). Only pairs that share some band
    are compared, so the work grows with the copies, not with the square of the entries."""
    rows = session.exec(select(Entry.participant_id, Entry.sha256, Entry.bands).where(
        Entry.task_id == task_id, Entry.status == EntryStatus.scored)).all()
    holders: dict[tuple[int, str], dict[int, list[int]]] = {}  # (band, digest) -> participant -> entries
    for n, (participant_id, _, bands) in enumerate(rows):
        for band, digest in enumerate(bands or []):
            if digest:
                holders.setdefault((band, digest), {}).setdefault(participant_id, []).append(n)
    candidates = set()
    for by_person in holders.values():
        if 1 < len(by_person) <= COMMON_BAND:
            entries = [n for ns in by_person.values() for n in ns]
            candidates.update((a, b) for i, a in enumerate(entries) for b in entries[i + 1:])
    found: dict[tuple[int, int], float] = {}
    for a, b in candidates:
        (one, one_sha, one_bands), (other, other_sha, other_bands) = rows[a], rows[b]
        if one == other or one_sha == other_sha:  # the same person, or the same file (flagged as such)
            continue
        share = scoring.shared_share(one_bands, other_bands)
        if share >= NEAR_IDENTICAL:
            pair = (min(one, other), max(one, other))
            found[pair] = max(share, found.get(pair, 0.0))
    return [Flag("near_file", f"{share:.0%}", list(pair)) for pair, share in sorted(found.items())]


def stage_events(session: Session, stage_id: int) -> list[StageEvent]:
    return list(session.exec(select(StageEvent).where(StageEvent.stage_id == stage_id).order_by(StageEvent.id)))


def backlog(session: Session, found: Stage, now: datetime | None = None) -> dict:
    """The organiser's view of scoring: waiting, stuck, and entries per minute over the last 10 minutes."""
    now = now or utcnow()
    task_ids = list(session.exec(select(Task.id).where(Task.stage_id == found.id)))
    base = select(func.count()).select_from(Entry).where(col(Entry.task_id).in_(task_ids or [0]))
    waiting = session.exec(base.where(col(Entry.status).in_([EntryStatus.queued, EntryStatus.scoring]))).one()
    stuck = session.exec(base.where(col(Entry.status).in_([EntryStatus.queued, EntryStatus.scoring]),
                                    col(Entry.queued_at) < now - STUCK_AFTER)).one()
    recent = session.exec(base.where(col(Entry.created_at) >= now - timedelta(minutes=10))).one()
    failed = session.exec(base.where(Entry.status == EntryStatus.failed)).one()
    return {"waiting": waiting, "stuck": stuck, "per_minute": round(recent / 10, 1), "failed": failed}


def stage_tasks(session: Session, stage_id: int, category_id: int | None = None) -> list[Task]:
    query = select(Task).where(Task.stage_id == stage_id)
    if category_id is not None:
        query = query.where(Task.category_id == category_id)
    return list(session.exec(query.order_by(Task.category_id, Task.position, Task.id)))


def stages_of(session: Session, season_id: int) -> list[Stage]:
    return list(session.exec(select(Stage).where(Stage.season_id == season_id).order_by(Stage.position)))


def visible_seasons(session: Session, user: User | None) -> list[Season]:
    """Seasons with at least one stage past draft (organisers see every season)."""
    query = select(Season).order_by(col(Season.id).desc())
    if not is_organiser(user):
        query = query.where(Season.id.in_(select(Stage.season_id).where(
            col(Stage.status).not_in([StageStatus.draft]))))
    return list(session.exec(query))


def my_advancements(session: Session, user: User, unseen_only: bool = False) -> list[tuple[Advancement, Stage, Season]]:
    """Stages a person advanced to; `unseen_only`: those not closed yet (the home page's notice)."""
    query = (select(Advancement, Stage, Season).join(Stage, Stage.id == Advancement.stage_id)
             .join(Season, Season.id == Stage.season_id)
             .join(Participant, Participant.id == Advancement.participant_id)
             .where(Participant.user_id == user.id))
    if unseen_only:
        query = query.where(col(Stage.status).in_([StageStatus.draft, StageStatus.scheduled, StageStatus.open,
                                                   StageStatus.frozen]))
    return list(session.exec(query.order_by(col(Advancement.id).desc())))
