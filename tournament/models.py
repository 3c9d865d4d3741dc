"""The national AI tournament: seasons, their categories and stages, tasks, entries and standings.

A season's stages run one after another (an open qualifier, regional rounds, a national final). Every
moment is stored in UTC. PostgreSQL (or SQLite, embedded) is the source of truth: an entry is stored
before it is scored, each score is unique per (entry, scorer version), and each participant's standing
in a stage is kept materialised so that a leaderboard is an indexed read, never a scan of entries.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel, select

from gennation.platform import personal_data
from gennation.platform.database import utcnow


class StageStatus(StrEnum):
    draft = "draft"  # being prepared by the organisers; participants see nothing
    scheduled = "scheduled"  # the clock opens it at opens_at
    open = "open"
    frozen = "frozen"  # still open for entries; the public leaderboard stays as it was at freeze_at
    closed = "closed"
    locked = "locked"  # results fixed: no re-scoring without an audited unlock
    published = "published"  # final (private) ranking shown to everyone


class StageKind(StrEnum):
    qualifier = "qualifier"
    regional = "regional"
    final = "final"


class TaskKind(StrEnum):
    quiz = "quiz"
    practical = "practical"


class Metric(StrEnum):
    accuracy = "accuracy"
    macro_f1 = "macro_f1"
    mae = "mae"
    rmse = "rmse"
    roc_auc = "roc_auc"


class EntryStatus(StrEnum):
    rejected = "rejected"  # malformed file: kept with its reasons, never scored, not counted
    queued = "queued"
    scoring = "scoring"
    scored = "scored"
    failed = "failed"  # the platform could not score it: the attempt is given back


class Season(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    title: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # {"kk", "ru"}
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)


class Category(SQLModel, table=True):
    """A category of a season (grades 5-8, TVET, adults...): who may enter it, by their profile."""

    __tablename__ = "tournament_category"
    __table_args__ = (UniqueConstraint("season_id", "slug"),)
    id: int | None = Field(default=None, primary_key=True)
    season_id: int = Field(foreign_key="season.id", ondelete="CASCADE", index=True)
    slug: str = Field(max_length=40)
    title: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Profile categories (accounts.Category values) admitted, and for school students the grades.
    admits: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    grade_min: int | None = None
    grade_max: int | None = None


class Stage(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("season_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    season_id: int = Field(foreign_key="season.id", ondelete="CASCADE", index=True)
    position: int  # 1 = the qualifier; stage n+1 admits whom stage n advanced
    kind: StageKind
    title: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opens_at: datetime
    closes_at: datetime
    freeze_minutes: int = 0  # the leaderboard is hidden for this long before closes_at
    status: StageStatus = Field(default=StageStatus.draft, index=True)
    # Advancement to the next stage: the top N per region and category, a score threshold, or both.
    advance_top: int | None = None
    advance_threshold: float | None = None
    # Diplomas: places 1..winner_places are winners, then up to prize_places prize-winners.
    winner_places: int = 1
    prize_places: int = 3


class StageEvent(SQLModel, table=True):
    """Every move of a stage, with who or what made it (an organiser, or the clock) and why."""

    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="stage.id", ondelete="CASCADE", index=True)
    from_status: str = Field(max_length=20)
    to_status: str = Field(max_length=20)
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    actor: str = Field(max_length=20)  # "organiser" | "clock"
    reason: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow)


class Participant(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("season_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    season_id: int = Field(foreign_key="season.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    category_id: int = Field(foreign_key="tournament_category.id", ondelete="CASCADE", index=True)
    region: str = Field(max_length=40, index=True)  # as the profile said at registration
    registered_at: datetime = Field(default_factory=utcnow)
    registered_from: str = Field(default="", max_length=64, index=True)  # network, for the review flags
    disqualified_at: datetime | None = None
    disqualified_reason: str | None = Field(default=None, max_length=500)
    disqualified_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class Advancement(SQLModel, table=True):
    """A participant admitted to a later stage by their place in the one before."""

    __table_args__ = (UniqueConstraint("stage_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="stage.id", ondelete="CASCADE", index=True)
    participant_id: int = Field(foreign_key="participant.id", ondelete="CASCADE", index=True)
    rank: int  # the place that earned it, in the region and category
    points: float
    created_at: datetime = Field(default_factory=utcnow)


class ExtraTime(SQLModel, table=True):
    """Minutes an organiser added to one participant's window (accessibility needs, an outage)."""

    __table_args__ = (UniqueConstraint("stage_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="stage.id", ondelete="CASCADE", index=True)
    participant_id: int = Field(foreign_key="participant.id", ondelete="CASCADE", index=True)
    minutes: int
    reason: str = Field(max_length=500)
    granted_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    granted_at: datetime = Field(default_factory=utcnow)


class Task(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)  # random: the address never counts up
    stage_id: int = Field(foreign_key="stage.id", ondelete="CASCADE", index=True)
    category_id: int = Field(foreign_key="tournament_category.id", ondelete="CASCADE", index=True)
    kind: TaskKind
    position: int = 1
    title: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    description: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # Markdown
    # Practical tasks: the predictions file's columns and what a prediction may be.
    metric: str | None = Field(default=None, max_length=20)
    id_column: str | None = Field(default=None, max_length=60)
    target_column: str | None = Field(default=None, max_length=60)
    classes: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    value_min: float | None = None
    value_max: float | None = None
    # For error metrics: the error of always predicting the training mean, worth 0 points.
    zero_point: float | None = None
    daily_limit: int = 5
    total_limit: int = 50
    max_file_bytes: int = 2 * 1024 * 1024
    scorer_version: int = 1  # the TaskLabels version the leaderboard shows
    rescoring_version: int | None = None  # a re-score in progress, switched to when every entry has it
    # Quiz tasks: the bank (course-engine questions), how many are drawn, the time allowed.
    questions: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    draw: int | None = None
    minutes: int | None = None


class TaskLabels(SQLModel, table=True):
    """The hidden answers of a practical task, one row per scorer version. Never served to participants."""

    __table_args__ = (UniqueConstraint("task_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", ondelete="CASCADE", index=True)
    version: int
    metric: str = Field(max_length=20)
    labels: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # test id -> target
    private_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    uploaded_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    uploaded_at: datetime = Field(default_factory=utcnow)


class Entry(SQLModel, table=True):
    """One predictions file sent to a practical task: stored first, then scored by a worker."""

    __table_args__ = (Index("ix_entry_task_participant_day", "task_id", "participant_id", "day"),
                      Index("ix_entry_status_id", "status", "id"))
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    task_id: int = Field(foreign_key="task.id", ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", ondelete="CASCADE", index=True)
    status: EntryStatus = EntryStatus.queued
    counted: bool = True  # counts toward the limits: false once rejected or failed by our fault
    day: date  # in Almaty: the day the daily limit counts it on
    filename: str = Field(default="", max_length=200)
    size: int = 0
    sha256: str = Field(default="", max_length=64, index=True)
    errors: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    queued_at: datetime | None = None  # last (re)queued: the sweeper re-queues what waits too long
    tries: int = 0
    scored_at: datetime | None = None
    scored_version: int | None = None
    public_score: float | None = None
    private_score: float | None = None
    public_points: float | None = None
    private_points: float | None = None
    selected: bool = False  # picked by its owner for the final ranking (at most two per task)
    # digests of the predictions by bands of rows, set when scored: finds near-identical files
    bands: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))


class EntryScore(SQLModel, table=True):
    """A score of an entry under one scorer version: unique, so a task that runs twice changes nothing."""

    __table_args__ = (UniqueConstraint("entry_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entry.id", ondelete="CASCADE", index=True)
    version: int
    public_score: float
    private_score: float
    public_points: float
    private_points: float
    scored_at: datetime = Field(default_factory=utcnow)


class QuizRun(SQLModel, table=True):
    """A participant's one timed attempt at a quiz task. The deadline is fixed when it starts."""

    __table_args__ = (UniqueConstraint("task_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    task_id: int = Field(foreign_key="task.id", ondelete="CASCADE", index=True)
    participant_id: int = Field(foreign_key="participant.id", ondelete="CASCADE", index=True)
    question_slugs: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    layout: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    answers: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # saved as they come
    started_at: datetime = Field(default_factory=utcnow)
    deadline_at: datetime
    finished_at: datetime | None = None
    score: float | None = None  # percent correct


class Standing(SQLModel, table=True):
    """A participant's best in a stage, kept current as entries are scored: the leaderboard's rows.

    Points: each task gives 0-100 (a percentage of the metric, or for error metrics how much of the
    zero-point error is removed); a stage's points are their sum over its tasks. Ties: who reached the
    points first (`reached_at`) ranks higher."""

    __table_args__ = (UniqueConstraint("stage_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="stage.id", ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", ondelete="CASCADE", index=True)
    category_id: int = Field(foreign_key="tournament_category.id", ondelete="CASCADE")
    region: str = Field(max_length=40)
    public_points: float = 0.0
    private_points: float = 0.0
    frozen_points: float = 0.0  # public points at freeze time: what participants see while frozen
    reached_at: datetime = Field(default_factory=utcnow)
    frozen_reached_at: datetime = Field(default_factory=utcnow)
    tasks: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # task id -> points
    excluded: bool = False  # disqualified: kept, never ranked


def _board_index(name: str, points: str, reached: str, region: bool = False) -> Index:
    """An index in exactly a board's order, over the ranked rows only, so that a page of a board and the
    counts behind a rank are read from the index alone, without sorting."""
    c = Standing.__table__.c
    ranked = c.excluded == false()
    return Index(name, c.stage_id, c.category_id, *([c.region] if region else []), c[points].desc(), c[reached],
                 c.participant_id.desc(), postgresql_where=ranked, sqlite_where=ranked)


_board_index("ix_standing_board", "public_points", "reached_at")
_board_index("ix_standing_region_board", "public_points", "reached_at", region=True)
_board_index("ix_standing_frozen", "frozen_points", "frozen_reached_at")
_board_index("ix_standing_final", "private_points", "reached_at")


class Appeal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="stage.id", ondelete="CASCADE", index=True)
    participant_id: int = Field(foreign_key="participant.id", ondelete="CASCADE", index=True)
    text: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)
    answer: str | None = Field(default=None, max_length=2000)
    answered_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    answered_at: datetime | None = None


def _of_participant(model):
    """Rows of a table that reaches the person through their participations."""
    return lambda user_id: select(model).join(Participant, Participant.id == model.participant_id).where(
        Participant.user_id == user_id).order_by(model.id)


# "Download my data": everything the tournament keeps about a person, and what they did as an organiser.
personal_data.holds("tournament_participations", Participant, Participant.user_id)
for _name, _model in (("tournament_entries", Entry), ("tournament_quiz_runs", QuizRun),
                      ("tournament_standings", Standing), ("tournament_advancements", Advancement),
                      ("tournament_extra_time", ExtraTime), ("tournament_appeals", Appeal)):
    personal_data.holds(_name, _model, rows=_of_participant(_model))
personal_data.holds("tournament_seasons_created", Season, Season.created_by)
personal_data.holds("tournament_stage_moves_made", StageEvent, StageEvent.actor_id)
personal_data.holds("tournament_labels_uploaded", TaskLabels, TaskLabels.uploaded_by)
