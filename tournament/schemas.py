"""The tournament's JSON API shapes."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class TaskBrief(BaseModel):
    id: str
    kind: Literal["quiz", "practical"]
    title: str


class StageOut(BaseModel):
    id: int
    season: str
    title: str
    kind: str
    status: str
    opens_at: datetime
    closes_at: datetime
    closes_for_me: datetime | None = Field(None, description="Closing time with any extra time granted to me")
    category: str | None = None
    tasks: list[TaskBrief] = []


class TaskFiles(BaseModel):
    train: str | None = None
    test: str | None = None
    starter: str | None = None


class TaskOut(BaseModel):
    id: str
    kind: Literal["quiz", "practical"]
    stage_id: int
    title: str
    description: str
    metric: str | None = None
    id_column: str | None = None
    target_column: str | None = None
    classes: list[str] | None = None
    files: TaskFiles
    daily_limit: int | None = None
    total_limit: int | None = None
    entries_left_today: int | None = None
    entries_left: int | None = None
    minutes: int | None = None
    questions: int | None = None


class RowProblem(BaseModel):
    line: int = Field(description="Line of the file (1 = the header); 0 = the file as a whole")
    message: str


class EntryAccepted(BaseModel):
    id: str
    status: str


class EntryOut(BaseModel):
    id: str
    task_id: str
    status: str
    created_at: datetime
    filename: str
    queue_position: int | None = None
    public_score: float | None = None
    public_points: float | None = None
    private_score: float | None = Field(None, description="Shown once the stage's results are published")
    selected: bool = False
    errors: list[RowProblem] = []


class SelectionIn(BaseModel):
    entries: list[str] = Field(max_length=2, description="Up to two of my scored entries for the final ranking")


class RegistrationIn(BaseModel):
    category: str = Field(max_length=40)


class ParticipantOut(BaseModel):
    id: int
    season: str
    category: str
    region: str


class BoardRow(BaseModel):
    rank: int
    name: str
    region: str
    points: float
    me: bool = False


class LeaderboardOut(BaseModel):
    stage_id: int
    category: str
    region: str
    column: Literal["public", "frozen", "private"]
    page: int
    pages: int
    total: int
    rows: list[BoardRow]
    me: BoardRow | None = None
    neighbours: list[BoardRow] = []


class QuestionOut(BaseModel):
    id: str
    kind: str
    prompt: str
    options: list[dict]
    unit: str = ""


class QuizRunOut(BaseModel):
    id: str
    task_id: str
    started_at: datetime
    deadline_at: datetime
    seconds_left: int
    finished: bool
    score: float | None = None
    questions: list[QuestionOut]
    answers: dict


class AnswersIn(BaseModel):
    answers: dict[str, str | list[str] | float | bool]


# ---------------------------------------------------------------- organisers

def both(data: BaseModel, name: str) -> dict:
    """A bilingual field of a form or API body (`title_kk`, `title_ru`) as stored: {"kk": ..., "ru": ...}."""
    return {"kk": getattr(data, f"{name}_kk"), "ru": getattr(data, f"{name}_ru")}


class SeasonIn(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9-]{3,60}$")
    title_kk: str = Field(min_length=1, max_length=200)
    title_ru: str = Field(min_length=1, max_length=200)


class CategoryIn(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9-]{2,40}$")
    title_kk: str = Field(min_length=1, max_length=200)
    title_ru: str = Field(min_length=1, max_length=200)
    admits: list[Literal["school_student", "tvet_student", "university_student", "adult", "civil_servant"]] = Field(
        min_length=1)
    grade_min: int | None = Field(None, ge=1, le=11)
    grade_max: int | None = Field(None, ge=1, le=11)


class StageIn(BaseModel):
    kind: Literal["qualifier", "regional", "final"]
    title_kk: str = Field(min_length=1, max_length=200)
    title_ru: str = Field(min_length=1, max_length=200)
    opens_at: datetime
    closes_at: datetime
    freeze_minutes: int = Field(0, ge=0, le=7 * 24 * 60)
    advance_top: int | None = Field(None, ge=1)
    advance_threshold: float | None = Field(None, ge=0)


class TaskIn(BaseModel):
    """What every task has: its category, and its title and description in both languages."""
    category: str = Field(min_length=1, max_length=40)
    title_kk: str = Field(min_length=1, max_length=200)
    title_ru: str = Field(min_length=1, max_length=200)
    description_kk: str = Field("", max_length=20000)
    description_ru: str = Field("", max_length=20000)


class PracticalTaskIn(TaskIn):
    """A practical task's settings (its three files come beside them)."""
    metric: Literal["accuracy", "macro_f1", "mae", "rmse", "roc_auc"]
    id_column: str = Field(min_length=1, max_length=60)
    target_column: str = Field(min_length=1, max_length=60)
    classes: str = Field("", max_length=2000)  # comma-separated, for the classification metrics
    value_min: float | None = None
    value_max: float | None = None
    daily_limit: int = Field(5, ge=1, le=100)
    total_limit: int = Field(50, ge=1, le=1000)


class QuizTaskIn(TaskIn):
    """A quiz task's settings (its two question-bank files come beside them)."""
    draw: int = Field(15, ge=1, le=200)
    minutes: int = Field(20, ge=1, le=600)


class MoveIn(BaseModel):
    to: Literal["draft", "scheduled", "open", "frozen", "closed", "locked", "published"]
    reason: str = Field("", max_length=500)


class ReasonIn(BaseModel):
    reason: str = Field(max_length=500)


class ExtraTimeIn(BaseModel):
    participant_id: int
    minutes: int
    reason: str = Field(max_length=500)


class AppealIn(BaseModel):
    text: str = Field(max_length=2000)


class AppealOut(BaseModel):
    id: int
    stage_id: int
    text: str
    created_at: datetime
    answer: str | None = None
    answered_at: datetime | None = None


class AnswerIn(BaseModel):
    answer: str = Field(max_length=2000)


class BacklogOut(BaseModel):
    waiting: int
    stuck: int
    failed: int
    per_minute: float


class RescoreOut(BaseModel):
    task_id: str
    version: int | None
    done: int
    total: int


class StageEventOut(BaseModel):
    from_status: str
    to_status: str
    actor: str
    reason: str
    at: datetime


class FlagOut(BaseModel):
    kind: str
    detail: str
    participants: list[int]
