"""The tournament: the participant's pages and API (stages, tasks, entries, quiz runs, leaderboards)
and the organisers' console and API. Thin: the work is in service.py, scoring in tasks.py."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import select

from gennation.courses import service as courses
from gennation.courses.rendering import render_lesson
from gennation.frontend.rendering import render
from gennation.platform.accounts.models import REGIONS, User
from gennation.platform.accounts.vocabulary import CATEGORY_NAMES, REGION_NAMES
from gennation.platform.deps import (
    ApiLang, ApiUser, Csrf, CurrentUser, DbSession, Id, PageLang, PageUser, SubmittedForm, UnitOfWorkRoute,
    client_address, PagePerson,
)
from gennation.platform import files as uploads
from gennation.platform.errors import InvalidField, NotFound, validated
from gennation.platform.i18n import N_, content_language, gettext
from gennation.platform.database import utcnow
from gennation.platform.institutions.assignments import as_utc, local_text, parse_due
from gennation.platform.limits import network_of
from gennation.tournament import leaderboard, service, tasks
from gennation.tournament.models import (
    Appeal, Category, Entry, EntryStatus, Participant, QuizRun, Season, Stage, StageStatus, Standing,
    Task, TaskKind,
)
from gennation.tournament.schemas import both
from gennation.tournament.schemas import (
    AnswerIn, AnswersIn, AppealIn, AppealOut, BacklogOut, BoardRow, CategoryIn, EntryAccepted, EntryOut, ExtraTimeIn,
    FlagOut, LeaderboardOut, MoveIn, ParticipantOut, QuestionOut, QuizRunOut, ReasonIn, RegistrationIn, RescoreOut,
    PracticalTaskIn, QuizTaskIn, RowProblem, SeasonIn, SelectionIn, StageEventOut, StageIn, StageOut, TaskBrief,
    TaskFiles, TaskOut,
)

pages = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[PagePerson])
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/tournament", tags=["tournament"])

STATUS_NAMES = {
    "draft": N_("draft"), "scheduled": N_("scheduled"), "open": N_("open"), "frozen": N_("open, leaderboard frozen"),
    "closed": N_("closed"), "locked": N_("results locked"), "published": N_("results published"),
}
ENTRY_STATUS_NAMES = {
    "rejected": N_("not accepted"), "queued": N_("waiting to be scored"), "scoring": N_("being scored"),
    "scored": N_("scored"), "failed": N_("could not be scored (not counted)"),
}
METRIC_NAMES = {"accuracy": "Accuracy", "macro_f1": "Macro F1", "mae": "MAE", "rmse": "RMSE", "roc_auc": "ROC AUC"}
FLAG_NAMES = {"same_file": N_("the same predictions file from different accounts"),
              "near_file": N_("near-identical predictions files from different accounts"),
              "fast_quiz": N_("a quiz finished implausibly fast"),
              "one_network": N_("many registrations from one address within an hour")}


def _render(request: Request, template: str, context: dict, *, lang: str, **options) -> Response:
    names = {"status_names": STATUS_NAMES, "entry_status_names": ENTRY_STATUS_NAMES, "metric_names": METRIC_NAMES,
             "flag_names": FLAG_NAMES, "region_names": REGION_NAMES, "local_text": local_text,
             "public_name": public_name}
    return render(request, template, {**names, **context}, lang=lang, **options)


def _var(request: Request):
    return request.app.state.settings.var_dir


def _refused_uploads(request: Request):
    """Where uploads refused before they are read are kept, with their reasons (an entry that was read and
    then rejected is kept with the entry itself)."""
    return _var(request) / "tournament" / "refused"


def _problems(lang: str, items: list[dict]) -> list[RowProblem]:
    """Stored problems of an entry ({line, message id, values}) in the reader's language."""
    return [RowProblem(line=line, message=gettext(lang, text, **values))
            for line, text, values in ((p["line"], p["message"], p.get("values", {})) for p in items)]


def public_name(display_name: str) -> str:
    """How a participant appears on a public leaderboard: the first name and the initial of the next
    (many participants are children; the full name stays between them and the organisers)."""
    parts = display_name.split()
    if len(parts) < 2:
        return display_name
    return f"{parts[0]} {parts[1][0]}."


# ---------------------------------------------------------------- shared views

def _stage_out(session, stage: Stage, season: Season, lang: str, participant: Participant | None) -> StageOut:
    text = content_language(lang)
    category = session.get(Category, participant.category_id) if participant else None
    tasks_ = service.stage_tasks(session, stage.id, participant.category_id) if participant else []
    return StageOut(id=stage.id, season=season.slug, title=service.title_of(stage.title, text), kind=stage.kind,
                    status=stage.status, opens_at=as_utc(stage.opens_at), closes_at=as_utc(stage.closes_at),
                    closes_for_me=service.closes_for(session, stage, participant) if participant else None,
                    category=category.slug if category else None,
                    tasks=[TaskBrief(id=t.public_id, kind=t.kind, title=service.title_of(t.title, text)) for t in tasks_])


def _my_stages(session, user: User) -> list[tuple[Stage, Season, Participant]]:
    out = []
    for season in service.visible_seasons(session, user):
        participant = service.participant_of(session, user, season.id)
        if participant is None:
            continue
        for stage in service.stages_of(session, season.id):
            if stage.status != StageStatus.draft and service.admitted(session, participant, stage):
                out.append((stage, season, participant))
    return out


def _task_out(request: Request, session, task: Task, lang: str, participant: Participant | None) -> TaskOut:
    text = content_language(lang)
    files = TaskFiles()
    if task.kind == TaskKind.practical:
        base = f"/api/v1/tournament/tasks/{task.public_id}/files"
        starter = service.starter_of(_var(request), task)
        files = TaskFiles(train=f"{base}/train.csv", test=f"{base}/test.csv",
                          starter=f"{base}/{starter.name}" if starter else None)
    left = service.limits_left(session, participant, task) if participant and task.kind == TaskKind.practical else (None, None)
    return TaskOut(id=task.public_id, kind=task.kind, stage_id=task.stage_id, title=service.title_of(task.title, text),
                   description=service.title_of(task.description, text), metric=task.metric, id_column=task.id_column,
                   target_column=task.target_column, classes=task.classes, files=files,
                   daily_limit=task.daily_limit if task.kind == TaskKind.practical else None,
                   total_limit=task.total_limit if task.kind == TaskKind.practical else None,
                   entries_left_today=left[0], entries_left=left[1], minutes=task.minutes,
                   questions=task.draw if task.kind == TaskKind.quiz else None)


def _entry_out(session, entry: Entry, task: Task, stage: Stage, lang: str) -> EntryOut:
    published = stage.status == StageStatus.published
    return EntryOut(id=entry.public_id, task_id=task.public_id, status=entry.status, created_at=as_utc(entry.created_at),
                    filename=entry.filename, queue_position=service.queue_position(session, entry),
                    public_score=entry.public_score, public_points=entry.public_points,
                    private_score=entry.private_score if published else None, selected=entry.selected,
                    errors=_problems(lang, entry.errors))


def _board(session, stage: Stage, user: User | None, category_slug: str, region: str, page: int):
    categories = service.categories_of(session, stage.season_id)
    participant = service.participant_of(session, user, stage.season_id)
    chosen = next((c for c in categories if c.slug == category_slug), None)
    if chosen is None:
        chosen = next((c for c in categories if participant and c.id == participant.category_id), None) or \
            (categories[0] if categories else None)
    if chosen is None:
        raise NotFound
    if region != leaderboard.NATIONAL and region not in REGIONS:
        region = leaderboard.NATIONAL
    organiser = service.is_organiser(user)
    if stage.status == StageStatus.draft and not organiser:
        raise NotFound
    found = leaderboard.board(session, stage, chosen.id, region, page, participant.id if participant else None,
                              organiser, tasks.boards)
    return found, chosen, categories


def _row(row: leaderboard.Row) -> BoardRow:
    return BoardRow(rank=row.rank, name=public_name(row.name), region=row.region, points=row.points, me=row.mine)


def _run_out(run: QuizRun, task: Task, lang: str, now: datetime) -> QuizRunOut:
    text = content_language(lang)
    questions = [] if run.finished_at else [courses.question_view(q, text, run) for q in service.run_questions(task, run)]
    return QuizRunOut(id=run.public_id, task_id=task.public_id, started_at=as_utc(run.started_at),
                      deadline_at=as_utc(run.deadline_at),
                      seconds_left=max(0, int((as_utc(run.deadline_at) - now).total_seconds())),
                      finished=run.finished_at is not None, score=run.score,
                      questions=[QuestionOut(id=q.id, kind=q.kind, prompt=q.prompt, options=q.options, unit=q.unit)
                                 for q in questions], answers=run.answers if not run.finished_at else {})


def _csv_response(text: str, name: str) -> Response:
    return Response(text.encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def results_csv(session, stage: Stage, lang: str) -> str:
    """Every category's final ranking, from the same ordering as the leaderboard."""
    text = content_language(lang)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["category", "rank", "participant_id", "name", "region", "points", "public_points"])
    for category in service.categories_of(session, stage.season_id):
        rows = session.exec(service.final_order(session, stage, category.id, None, User.display_name)
                            .join(Participant, Participant.id == Standing.participant_id)
                            .join(User, User.id == Participant.user_id)).all()
        for rank, (standing, name) in enumerate(rows, start=1):
            writer.writerow([service.title_of(category.title, text), rank, standing.participant_id, name,
                             standing.region, standing.private_points, standing.public_points])
    return out.getvalue()


# ---------------------------------------------------------------- participant API

@api.get("/stages", response_model=list[StageOut])
def api_stages(session: DbSession, user: ApiUser, lang: ApiLang):
    """The stages open to me (registered seasons, stages I take part in), with my tasks."""
    return [_stage_out(session, stage, season, lang, participant) for stage, season, participant in _my_stages(session, user)]


@api.post("/seasons/{slug}/registration", response_model=ParticipantOut, status_code=201)
def api_register(request: Request, slug: str, data: RegistrationIn, session: DbSession, user: ApiUser):
    """Register for a category of a season (checked against my profile)."""
    season = service.season_by_slug(session, slug)
    participant = service.register(session, user, season, data.category, network_of(client_address(request)))
    category = session.get(Category, participant.category_id)
    return ParticipantOut(id=participant.id, season=season.slug, category=category.slug, region=participant.region)


@api.get("/tasks/{public_id}", response_model=TaskOut)
def api_task(request: Request, public_id: str, session: DbSession, user: ApiUser, lang: ApiLang):
    task, _stage, participant = service.visible_task(session, user, public_id)
    return _task_out(request, session, task, lang, participant)


@api.get("/tasks/{public_id}/files/{name}", response_class=FileResponse,
         responses={200: {"content": {"text/csv": {}, "text/x-python": {}}}})
def api_task_file(request: Request, public_id: str, name: str, session: DbSession, user: ApiUser):
    """The training data, the test data (without labels) and the starter script."""
    task, _stage, _participant = service.visible_task(session, user, public_id)
    starter = service.starter_of(_var(request), task)
    if name not in ("train.csv", "test.csv") and (starter is None or name != starter.name):
        raise NotFound
    path = service.files_dir(_var(request), task) / name
    if not path.is_file():
        raise NotFound
    return FileResponse(path, filename=name, media_type="text/csv" if name.endswith(".csv") else "text/x-python")


@api.post("/tasks/{public_id}/entries", response_model=EntryAccepted, status_code=202,
          responses={422: {"description": "The file cannot be scored: `detail` names the rows; the entry is kept as rejected"},
                     409: {"description": "The stage is not open, or all entries are used"},
                     429: {"description": "Today's limit is used"}})
def api_send_entry(request: Request, public_id: str, session: DbSession, user: ApiUser, lang: ApiLang,
                   file: Annotated[UploadFile, File(description="CSV: the id column and the target column")]):
    """Send a predictions file. Checked at once; a good one is queued for scoring (`status` queued)."""
    task = service.task_by_public_id(session, public_id)
    data = uploads.read_upload(file, uploads.CSV, task.max_file_bytes, refused=_refused_uploads(request))
    sent = service.send_entry(session, user, task, file.filename or "", data, _var(request))
    if sent.entry.status == EntryStatus.rejected:
        detail = [p.model_dump() for p in _problems(lang, sent.entry.errors)]
        return JSONResponse({"id": sent.entry.public_id, "status": "rejected", "detail": detail,
                             "more": sent.more}, status_code=422)
    tasks.entry_sent(session, sent.entry.id)
    return EntryAccepted(id=sent.entry.public_id, status=sent.entry.status)


@api.get("/tasks/{public_id}/entries", response_model=list[EntryOut])
def api_my_entries(public_id: str, session: DbSession, user: ApiUser, lang: ApiLang):
    task = service.task_by_public_id(session, public_id)
    place = service.place_in(session, user, task)
    return [_entry_out(session, e, task, place.stage, lang) for e in service.my_entries(session, place.participant, task)]


@api.put("/tasks/{public_id}/selection", response_model=list[EntryOut])
def api_select(public_id: str, data: SelectionIn, session: DbSession, user: ApiUser, lang: ApiLang):
    """Pick up to two scored entries for the final ranking (none: my two best public ones count)."""
    task = service.task_by_public_id(session, public_id)
    chosen = service.select_entries(session, user, task, data.entries)
    stage = session.get(Stage, task.stage_id)
    return [_entry_out(session, e, task, stage, lang) for e in chosen]


@api.get("/entries/{public_id}", response_model=EntryOut)
def api_entry(public_id: str, session: DbSession, user: ApiUser, lang: ApiLang):
    """An entry's status and public score: for its owner and organisers only."""
    entry = service.entry_for(session, user, public_id)
    task = session.get(Task, entry.task_id)
    return _entry_out(session, entry, task, session.get(Stage, task.stage_id), lang)


@api.get("/stages/{stage_id}/leaderboard", response_model=LeaderboardOut)
def api_leaderboard(stage_id: Id, session: DbSession, user: CurrentUser,
                    category: Annotated[str, Query(max_length=40)] = "",
                    region: Annotated[str, Query(max_length=40)] = leaderboard.NATIONAL,
                    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1):
    """A page of the leaderboard (national, or a region's), with my place and neighbours when signed in."""
    stage = service.stage(session, stage_id)
    found, chosen, _ = _board(session, stage, user, category, region, page)
    return LeaderboardOut(stage_id=stage.id, category=chosen.slug, region=found.region, column=found.column,
                          page=found.page, pages=found.pages, total=found.total, rows=[_row(r) for r in found.rows],
                          me=_row(found.me) if found.me else None, neighbours=[_row(r) for r in found.neighbours])


@api.post("/tasks/{public_id}/quiz", response_model=QuizRunOut, status_code=201)
def api_start_quiz(public_id: str, session: DbSession, user: ApiUser, lang: ApiLang):
    """Start my timed attempt at a quiz task (or get the one started): the deadline is fixed now."""
    task = service.task_by_public_id(session, public_id)
    run = service.start_quiz(session, user, task)
    return _run_out(run, task, lang, utcnow())


@api.get("/quiz-runs/{public_id}", response_model=QuizRunOut)
def api_quiz_run(public_id: str, session: DbSession, user: ApiUser, lang: ApiLang):
    run, task = service.run_for(session, user, public_id)
    now = utcnow()
    if run.finished_at is None and now > as_utc(run.deadline_at) + service.QUIZ_GRACE:
        service.finish_quiz(session, run, task, now)
    return _run_out(run, task, lang, now)


@api.put("/quiz-runs/{public_id}/answers", response_model=QuizRunOut)
def api_save_answers(public_id: str, data: AnswersIn, session: DbSession, user: ApiUser, lang: ApiLang):
    """Save answers as they are given (by the tokens of the options shown); refused after the deadline."""
    run, task = service.run_for(session, user, public_id)
    service.save_answers(session, run, task, data.answers)
    return _run_out(run, task, lang, utcnow())


@api.post("/quiz-runs/{public_id}/finish", response_model=QuizRunOut)
def api_finish_quiz(public_id: str, session: DbSession, user: ApiUser, lang: ApiLang):
    run, task = service.run_for(session, user, public_id)
    service.finish_quiz(session, run, task)
    return _run_out(run, task, lang, utcnow())


@api.post("/stages/{stage_id}/appeals", response_model=AppealOut, status_code=201)
def api_appeal(stage_id: Id, data: AppealIn, session: DbSession, user: ApiUser):
    filed = service.appeal(session, user, service.stage(session, stage_id), data.text)
    return AppealOut(**filed.model_dump(include=set(AppealOut.model_fields)))


@api.get("/stages/{stage_id}/appeals", response_model=list[AppealOut])
def api_appeals(stage_id: Id, session: DbSession, user: ApiUser):
    """Organisers: every appeal of the stage; a participant: their own."""
    stage = service.stage(session, stage_id)
    return [AppealOut(**a.model_dump(include=set(AppealOut.model_fields))) for a in _appeals(session, user, stage)]


def _appeals(session, user: User, stage: Stage) -> list[Appeal]:
    query = select(Appeal).where(Appeal.stage_id == stage.id)
    if not service.is_organiser(user):
        participant = service.participant_of(session, user, stage.season_id)
        query = query.where(Appeal.participant_id == (participant.id if participant else 0))
    return list(session.exec(query.order_by(Appeal.id)))


# ---------------------------------------------------------------- organiser API

def _participant_in(session, stage: Stage, participant_id: int) -> Participant | None:
    """A participant of the stage's season, by number (None for anyone else's)."""
    participant = session.get(Participant, participant_id)
    return participant if participant is not None and participant.season_id == stage.season_id else None


def _organiser(user: User) -> User:
    service.require_organiser(user)
    return user


@api.post("/seasons", status_code=201)
def api_create_season(data: SeasonIn, session: DbSession, user: ApiUser) -> dict:
    season = service.create_season(session, user, data.slug, both(data, "title"))
    return {"id": season.id, "slug": season.slug}


@api.post("/seasons/{slug}/categories", status_code=201)
def api_add_category(slug: str, data: CategoryIn, session: DbSession, user: ApiUser) -> dict:
    _organiser(user)
    category = service.add_category(session, user, service.season_by_slug(session, slug), data.slug,
                                    both(data, "title"), data.admits, data.grade_min,
                                    data.grade_max)
    return {"id": category.id, "slug": category.slug}


@api.post("/seasons/{slug}/stages", status_code=201)
def api_add_stage(slug: str, data: StageIn, session: DbSession, user: ApiUser) -> dict:
    _organiser(user)
    stage = service.add_stage(session, user, service.season_by_slug(session, slug), data.kind,
                              both(data, "title"), data.opens_at, data.closes_at,
                              data.freeze_minutes, data.advance_top, data.advance_threshold)
    return {"id": stage.id, "position": stage.position, "status": stage.status}


@api.post("/stages/{stage_id}/tasks", status_code=201)
def api_add_task(request: Request, stage_id: Id, session: DbSession, user: ApiUser,
                 category: Annotated[str, Form(max_length=40)], title_kk: Annotated[str, Form(max_length=200)],
                 title_ru: Annotated[str, Form(max_length=200)], metric: Annotated[str, Form(max_length=20)],
                 id_column: Annotated[str, Form(max_length=60)], target_column: Annotated[str, Form(max_length=60)],
                 train: UploadFile, test: UploadFile, labels: UploadFile,
                 description_kk: Annotated[str, Form(max_length=20000)] = "",
                 description_ru: Annotated[str, Form(max_length=20000)] = "",
                 classes: Annotated[str, Form(max_length=2000)] = "",
                 value_min: Annotated[float | None, Form()] = None, value_max: Annotated[float | None, Form()] = None,
                 daily_limit: Annotated[int, Form(ge=1, le=100)] = 5, total_limit: Annotated[int, Form(ge=1, le=1000)] = 50):
    """A practical task: training data, test data without labels, and the hidden labels with their
    split (`id,target,split` where split is public or private). Ids must match the test file exactly."""
    _organiser(user)
    data = validated(PracticalTaskIn, {
        "category": category, "title_kk": title_kk, "title_ru": title_ru, "description_kk": description_kk,
        "description_ru": description_ru, "metric": metric, "id_column": id_column, "target_column": target_column,
        "classes": classes, "value_min": value_min, "value_max": value_max, "daily_limit": daily_limit,
        "total_limit": total_limit})
    files = service.TaskFiles(*(uploads.read_upload(f, uploads.CSV, "task_data", field=name, refused=_refused_uploads(request))
                                for name, f in (("train", train), ("test", test), ("labels", labels))))
    return {"id": _add_practical(request, session, user, service.stage(session, stage_id), data, files).public_id}


def _category_in(session, stage: Stage, slug: str) -> Category:
    chosen = next((c for c in service.categories_of(session, stage.season_id) if c.slug == slug), None)
    if chosen is None:
        raise InvalidField("category", N_("Choose one of the season's categories."))
    return chosen


def _add_practical(request: Request, session, user: User, stage: Stage, data: PracticalTaskIn,
                   files: service.TaskFiles) -> Task:
    bounds = (data.value_min, data.value_max)
    return service.add_practical_task(
        session, user, stage, _category_in(session, stage, data.category), title=both(data, "title"),
        description=both(data, "description"), metric=data.metric,
        id_column=data.id_column, target_column=data.target_column, var_dir=_var(request), files=files,
        classes=[c.strip() for c in data.classes.split(",") if c.strip()] or None,
        value_range=bounds if bounds != (None, None) else None, daily_limit=data.daily_limit,
        total_limit=data.total_limit)


@api.post("/stages/{stage_id}/moves", response_model=list[StageEventOut])
def api_move(stage_id: Id, data: MoveIn, session: DbSession, user: ApiUser):
    """Move a stage (schedule, open, freeze, close, lock, publish, or unlock back to closed with a reason)."""
    _organiser(user)
    stage = service.stage(session, stage_id)
    service.move(session, stage, StageStatus(data.to), user, data.reason)
    return [StageEventOut(**e.model_dump(include=set(StageEventOut.model_fields)))
            for e in service.stage_events(session, stage.id)]


@api.get("/stages/{stage_id}/backlog", response_model=BacklogOut)
def api_backlog(stage_id: Id, session: DbSession, user: ApiUser):
    _organiser(user)
    return BacklogOut(**service.backlog(session, service.stage(session, stage_id)))


@api.post("/stages/{stage_id}/requeue", response_model=BacklogOut)
def api_requeue(stage_id: Id, session: DbSession, user: ApiUser):
    """Re-queue every stuck entry of the stage now (the sweeper does it too, every minute)."""
    _organiser(user)
    stage = service.stage(session, stage_id)
    _requeue_stuck(session, stage, user)
    return BacklogOut(**service.backlog(session, stage))


def _requeue_stuck(session, stage: Stage, actor: User) -> int:
    task_ids = {t.id for t in service.stage_tasks(session, stage.id)}
    stuck = [i for i in service.stuck_entries(session) if session.get(Entry, i).task_id in task_ids]
    again = service.requeue(session, stuck, actor=actor)
    for entry_id in again:
        tasks.entry_sent(session, entry_id)
    return len(again)


@api.post("/stages/{stage_id}/advancement")
def api_advance(stage_id: Id, session: DbSession, user: ApiUser) -> dict:
    """Admit the best of a locked stage to the next one (by its rule); running it again adds nobody twice."""
    return {"advanced": service.advance(session, user, service.stage(session, stage_id))}


@api.post("/stages/{stage_id}/diplomas", status_code=202)
def api_diplomas(stage_id: Id, session: DbSession, user: ApiUser) -> dict:
    """Hand the published results to certificate issuing: winners, prize-winners and participants."""
    batch = _diplomas(session, user, service.stage(session, stage_id))
    return {"batch_id": batch.id, "total": batch.total, "status": batch.status}


def _diplomas(session, user: User, stage: Stage):
    from gennation.certificates import service as certificates
    _organiser(user)
    season = session.get(Season, stage.season_id)
    return certificates.start_diploma_batch(session, stage_id=stage.id, stage_title=stage.title,
                                            season_title=season.title, awards=service.awards(session, stage), by=user)


@api.get("/stages/{stage_id}/results.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def api_results_csv(stage_id: Id, session: DbSession, user: ApiUser, lang: ApiLang):
    _organiser(user)
    stage = service.stage(session, stage_id)
    return _csv_response(results_csv(session, stage, lang), f"stage-{stage.id}-results.csv")


@api.get("/stages/{stage_id}/flags", response_model=list[FlagOut])
def api_flags(stage_id: Id, session: DbSession, user: ApiUser):
    _organiser(user)
    return [FlagOut(**vars(f)) for f in service.flags(session, service.stage(session, stage_id))]


@api.post("/stages/{stage_id}/extra-time", status_code=201)
def api_extra_time(stage_id: Id, data: ExtraTimeIn, session: DbSession, user: ApiUser) -> dict:
    stage = service.stage(session, stage_id)
    participant = _participant_in(session, stage, data.participant_id)
    if participant is None:
        raise NotFound
    grant = service.grant_extra_time(session, user, stage, participant, data.minutes, data.reason)
    return {"participant_id": participant.id, "minutes": grant.minutes,
            "closes_for_participant": service.closes_for(session, stage, participant)}


@api.post("/participants/{participant_id}/disqualification")
def api_disqualify(participant_id: Id, data: ReasonIn, session: DbSession, user: ApiUser) -> dict:
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound
    service.disqualify(session, user, participant, data.reason)
    return {"participant_id": participant.id, "disqualified": True, "reason": participant.disqualified_reason}


@api.post("/appeals/{appeal_id}/answer", response_model=AppealOut)
def api_answer_appeal(appeal_id: Id, data: AnswerIn, session: DbSession, user: ApiUser):
    filed = service.answer_appeal(session, user, appeal_id, data.answer)
    return AppealOut(**filed.model_dump(include=set(AppealOut.model_fields)))


@api.post("/tasks/{public_id}/rescore", response_model=RescoreOut, status_code=202)
def api_rescore(request: Request, public_id: str, session: DbSession, user: ApiUser,
                labels: UploadFile | None = None, metric: Annotated[str, Form(max_length=20)] = ""):
    """Re-score every entry after fixing the labels (a new labels file) or the metric, in the background;
    the leaderboard switches to the new scores at once when all are done."""
    task = service.task_by_public_id(session, public_id)
    service.require_organiser(user)  # before the file is read or kept
    data = uploads.read_upload(labels, uploads.CSV, "task_data", field="labels", refused=_refused_uploads(request)) if labels else None
    version = service.start_rescore(session, user, task, data, metric or None, _var(request))
    tasks.rescore_started(session, task.id)
    done, total = service.rescore_progress(session, task)
    return RescoreOut(task_id=task.public_id, version=version, done=done, total=total)


@api.get("/tasks/{public_id}/rescore", response_model=RescoreOut)
def api_rescore_progress(public_id: str, session: DbSession, user: ApiUser):
    _organiser(user)
    task = service.task_by_public_id(session, public_id)
    done, total = service.rescore_progress(session, task)
    return RescoreOut(task_id=task.public_id, version=task.rescoring_version, done=done, total=total)


# ---------------------------------------------------------------- participant pages

def _countdown(moment: datetime, now: datetime) -> int:
    return max(0, int((as_utc(moment) - now).total_seconds()))


@pages.get("/{lang}/tournament")
def home(request: Request, lang: PageLang, session: DbSession, user: CurrentUser):
    """Seasons, their stages with times in Astana time and a countdown, registration, and my news."""
    now = utcnow()
    text = content_language(lang)
    seasons = []
    for season in service.visible_seasons(session, user):
        participant = service.participant_of(session, user, season.id)
        categories = service.categories_of(session, season.id)
        stages = [s for s in service.stages_of(session, season.id) if s.status != StageStatus.draft
                  or service.is_organiser(user)]
        seasons.append({
            "season": season, "title": service.title_of(season.title, text), "participant": participant,
            "category": next((c for c in categories if participant and c.id == participant.category_id), None),
            "categories": [(c.slug, service.title_of(c.title, text), bool(user and service.eligible(c, user)))
                           for c in categories],
            "stages": [{"stage": s, "title": service.title_of(s.title, text),
                        "admitted": bool(participant and service.admitted(session, participant, s)),
                        "opens": local_text(s.opens_at), "closes": local_text(s.closes_at),
                        "seconds": _countdown(s.opens_at if s.status == StageStatus.scheduled else s.closes_at, now)}
                       for s in stages]})
    news = service.my_advancements(session, user) if user else []
    return _render(request, "tournament/home.html", {"seasons": seasons, "news": news, "text": text}, lang=lang)


@pages.post("/{lang}/tournament/seasons/{slug}/registration", dependencies=[Csrf])
def register_page(request: Request, lang: PageLang, slug: str, session: DbSession, user: PageUser,
                  category: Annotated[str, Form(max_length=40)] = ""):
    season = service.season_by_slug(session, slug)
    service.register(session, user, season, category, network_of(client_address(request)))
    return RedirectResponse(f"/{lang}/tournament", status_code=303)


@pages.get("/{lang}/tournament/stages/{stage_id}")
def stage_page(request: Request, lang: PageLang, stage_id: Id, session: DbSession, user: CurrentUser,
               category: Annotated[str, Query(max_length=40)] = "",
               region: Annotated[str, Query(max_length=40)] = leaderboard.NATIONAL,
               page: Annotated[int, Query(ge=1, le=1_000_000)] = 1):
    """A stage: its window, my tasks, and its leaderboard (refreshed live by htmx)."""
    stage = service.stage(session, stage_id)
    found, chosen, categories = _board(session, stage, user, category, region, page)
    text = content_language(lang)
    participant = service.participant_of(session, user, stage.season_id)
    admitted = bool(participant and service.admitted(session, participant, stage))
    my_tasks = service.stage_tasks(session, stage.id, participant.category_id) if admitted else []
    now = utcnow()
    closes = service.closes_for(session, stage, participant) if participant else as_utc(stage.closes_at)
    return _render(request, "tournament/stage.html", {
        "stage": stage, "season": session.get(Season, stage.season_id), "text": text, "board": found,
        "category": chosen, "categories": [(c.slug, service.title_of(c.title, text)) for c in categories],
        "regions": REGIONS, "region": found.region, "participant": participant, "admitted": admitted,
        "tasks": my_tasks, "opens": local_text(stage.opens_at), "closes": local_text(closes),
        "seconds": _countdown(closes, now),
        "appeals": _appeals(session, user, stage) if user else [],
    }, lang=lang, fragment="tournament/_leaderboard.html")


@pages.get("/{lang}/tournament/tasks/{public_id}")
def task_page(request: Request, lang: PageLang, public_id: str, session: DbSession, user: PageUser):
    task, stage, participant = service.visible_task(session, user, public_id)
    text = content_language(lang)
    entries = service.my_entries(session, participant, task) if participant and task.kind == TaskKind.practical else []
    run = None
    if task.kind == TaskKind.quiz and participant:
        run = session.exec(select(QuizRun).where(QuizRun.task_id == task.id,
                                                        QuizRun.participant_id == participant.id)).first()
    now = utcnow()
    closes = service.closes_for(session, stage, participant) if participant else as_utc(stage.closes_at)
    waiting = any(e.status in (EntryStatus.queued, EntryStatus.scoring) for e in entries)
    return _render(request, "tournament/task.html", {
        "task": task, "stage": stage, "text": text, "info": _task_out(request, session, task, lang, participant),
        "description": render_lesson(_without_title(service.title_of(task.description, text)), lang, ""),
        "entries": [_entry_out(session, e, task, stage, lang) for e in entries], "waiting": waiting,
        "participant": participant, "run": run, "closes": local_text(closes), "seconds": _countdown(closes, now),
        "accepting": bool(participant and service.accepting(session, stage, participant, now)),
        "published": stage.status == StageStatus.published, "errors": {},
    }, lang=lang, fragment="tournament/_entries.html")


def _without_title(markdown: str) -> str:
    """A description's own top heading is dropped: the page already has the task's title as its heading."""
    first, _, rest = markdown.lstrip().partition("\n")
    return rest if first.startswith("# ") else markdown


@pages.post("/{lang}/tournament/tasks/{public_id}/entries", dependencies=[Csrf])
def send_entry_page(request: Request, lang: PageLang, public_id: str, session: DbSession, user: PageUser,
                    form: SubmittedForm):
    """The upload form; the page comes back with the entry listed (rejected ones with their reasons)."""
    task = service.task_by_public_id(session, public_id)
    upload = form.get("file")
    if not hasattr(upload, "file") or not upload.filename:
        raise InvalidField("file", N_("Choose your predictions file (CSV)."))
    data = uploads.read_upload(upload, uploads.CSV, task.max_file_bytes, refused=_refused_uploads(request))
    sent = service.send_entry(session, user, task, upload.filename, data, _var(request))
    if sent.entry.status != EntryStatus.rejected:
        tasks.entry_sent(session, sent.entry.id)
    return RedirectResponse(f"/{lang}/tournament/tasks/{task.public_id}#entry-{sent.entry.public_id}", status_code=303)


@pages.post("/{lang}/tournament/tasks/{public_id}/selection", dependencies=[Csrf])
def select_page(request: Request, lang: PageLang, public_id: str, session: DbSession, user: PageUser,
                form: SubmittedForm):
    task = service.task_by_public_id(session, public_id)
    service.select_entries(session, user, task, [str(v) for v in form.getlist("entries")])
    return RedirectResponse(f"/{lang}/tournament/tasks/{task.public_id}", status_code=303)


@pages.get("/{lang}/tournament/tasks/{public_id}/files/{name}")
def task_file_page(request: Request, lang: PageLang, public_id: str, name: str, session: DbSession, user: PageUser):
    return api_task_file(request, public_id, name, session, user)


@pages.post("/{lang}/tournament/tasks/{public_id}/quiz", dependencies=[Csrf])
def start_quiz_page(lang: PageLang, public_id: str, session: DbSession, user: PageUser):
    task = service.task_by_public_id(session, public_id)
    run = service.start_quiz(session, user, task)
    return RedirectResponse(f"/{lang}/tournament/quiz/{run.public_id}", status_code=303)


@pages.get("/{lang}/tournament/quiz/{public_id}")
def quiz_page(request: Request, lang: PageLang, public_id: str, session: DbSession, user: PageUser):
    run, task = service.run_for(session, user, public_id)
    now = utcnow()
    if run.finished_at is None and now > as_utc(run.deadline_at) + service.QUIZ_GRACE:
        service.finish_quiz(session, run, task, now)
    return _quiz_page(request, lang, run, task, now)


def _quiz_page(request: Request, lang: str, run: QuizRun, task: Task, now: datetime, message: str = "",
               status_code: int = 200):
    text = content_language(lang)
    return _render(request, "tournament/quiz.html", {
        "run": run, "task": task, "title": service.title_of(task.title, text), "out": _run_out(run, task, lang, now),
        "deadline": local_text(run.deadline_at), "message": message,
    }, lang=lang, status_code=status_code)


@pages.post("/{lang}/tournament/quiz/{public_id}", dependencies=[Csrf])
def quiz_submit_page(request: Request, lang: PageLang, public_id: str, session: DbSession, user: PageUser,
                     form: SubmittedForm):
    """Save (htmx, on every change) or save and finish. Each question's field is named by its id."""
    run, task = service.run_for(session, user, public_id)
    answers = {}
    for question in service.run_questions(task, run):
        values = form.getlist(question.slug)
        if not values:
            continue
        answers[question.slug] = values if question.kind in ("multiple", "ordering") else values[0]
    now = utcnow()
    try:
        service.save_answers(session, run, task, answers, now)
    except service.QuizOver as over:
        return _quiz_page(request, lang, run, task, now, gettext(lang, over.message, **over.values), 409)
    if form.get("finish"):
        service.finish_quiz(session, run, task, now)
    if request.headers.get("hx-request") and not form.get("finish"):
        return Response(gettext(lang, "Saved at %(time)s.", time=local_text(now)[-5:]), media_type="text/plain")
    return RedirectResponse(f"/{lang}/tournament/quiz/{run.public_id}", status_code=303)


@pages.post("/{lang}/tournament/stages/{stage_id}/appeals", dependencies=[Csrf])
def appeal_page(lang: PageLang, stage_id: Id, session: DbSession, user: PageUser,
                text: Annotated[str, Form(max_length=2000)] = ""):
    service.appeal(session, user, service.stage(session, stage_id), text)
    return RedirectResponse(f"/{lang}/tournament/stages/{stage_id}#appeals", status_code=303)


# ---------------------------------------------------------------- organisers' console

@pages.get("/{lang}/tournament/console")
def console(request: Request, lang: PageLang, session: DbSession, user: PageUser, message: str = ""):
    _organiser(user)
    text = content_language(lang)
    seasons = [{"season": s, "title": service.title_of(s.title, text),
                "categories": [service.title_of(c.title, text) for c in service.categories_of(session, s.id)],
                "stages": [(st, service.title_of(st.title, text)) for st in service.stages_of(session, s.id)]}
               for s in service.visible_seasons(session, user)]
    return _render(request, "tournament/console.html", {"seasons": seasons, "message": message[:300]}, lang=lang)


@pages.get("/{lang}/tournament/console/stages/{stage_id}")
def console_stage(request: Request, lang: PageLang, stage_id: Id, session: DbSession, user: PageUser,
                  message: str = ""):
    _organiser(user)
    stage = service.stage(session, stage_id)
    text = content_language(lang)
    stage_tasks = service.stage_tasks(session, stage.id)
    return _render(request, "tournament/console_stage.html", {
        "stage": stage, "title": service.title_of(stage.title, text), "text": text,
        "season": session.get(Season, stage.season_id), "backlog": service.backlog(session, stage),
        "events": service.stage_events(session, stage.id), "moves": sorted(service.MOVES[StageStatus(stage.status)]),
        "tasks": [(t, service.title_of(t.title, text), service.rescore_progress(session, t)) for t in stage_tasks],
        "category_names": {c.id: service.title_of(c.title, text) for c in service.categories_of(session, stage.season_id)},
        "flags": service.flags(session, stage), "appeals": _appeals(session, user, stage),
        "message": message,
        "next_stage": service.next_stage(session, stage),
    }, lang=lang, fragment="tournament/_console_backlog.html")


def _console_action(lang: str, stage_id: int, message: str) -> RedirectResponse:
    return RedirectResponse(f"/{lang}/tournament/console/stages/{stage_id}?message={quote(message)}", status_code=303)


@pages.post("/{lang}/tournament/console/stages/{stage_id}/moves", dependencies=[Csrf])
def console_move(lang: PageLang, stage_id: Id, session: DbSession, user: PageUser,
                 to: Annotated[str, Form(max_length=20)], reason: Annotated[str, Form(max_length=500)] = ""):
    _organiser(user)
    if to not in StageStatus.__members__:
        raise InvalidField("to", N_("Choose one of the moves."))
    service.move(session, service.stage(session, stage_id), StageStatus(to), user, reason)
    return _console_action(lang, stage_id, gettext(lang, "Done."))


@pages.post("/{lang}/tournament/console/stages/{stage_id}/requeue", dependencies=[Csrf])
def console_requeue(lang: PageLang, stage_id: Id, session: DbSession, user: PageUser):
    _organiser(user)
    count = _requeue_stuck(session, service.stage(session, stage_id), user)
    return _console_action(lang, stage_id, gettext(lang, "Entries sent for scoring again: %(count)s.", count=count))


@pages.post("/{lang}/tournament/console/stages/{stage_id}/advancement", dependencies=[Csrf])
def console_advance(lang: PageLang, stage_id: Id, session: DbSession, user: PageUser):
    count = service.advance(session, user, service.stage(session, stage_id))
    return _console_action(lang, stage_id, gettext(lang, "Participants advanced to the next stage: %(count)s.", count=count))


@pages.post("/{lang}/tournament/console/stages/{stage_id}/diplomas", dependencies=[Csrf])
def console_diplomas(lang: PageLang, stage_id: Id, session: DbSession, user: PageUser):
    batch = _diplomas(session, user, service.stage(session, stage_id))
    return _console_action(lang, stage_id, gettext(lang, "Diplomas are being issued: %(count)s.", count=batch.total))


@pages.get("/{lang}/tournament/console/stages/{stage_id}/results.csv")
def console_results(lang: PageLang, stage_id: Id, session: DbSession, user: PageUser):
    _organiser(user)
    stage = service.stage(session, stage_id)
    return _csv_response(results_csv(session, stage, lang), f"stage-{stage.id}-results.csv")


@pages.post("/{lang}/tournament/console/stages/{stage_id}/extra-time", dependencies=[Csrf])
def console_extra_time(lang: PageLang, stage_id: Id, session: DbSession, user: PageUser,
                       participant_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
                       minutes: Annotated[int, Form(ge=-100000, le=100000)], reason: Annotated[str, Form(max_length=500)] = ""):
    stage = service.stage(session, stage_id)
    participant = _participant_in(session, stage, participant_id)
    if participant is None:
        raise InvalidField("participant_id", N_("No participant of this season has this number."))
    service.grant_extra_time(session, user, stage, participant, minutes, reason)
    return _console_action(lang, stage_id, gettext(lang, "Done."))


@pages.post("/{lang}/tournament/console/stages/{stage_id}/disqualification", dependencies=[Csrf])
def console_disqualify(lang: PageLang, stage_id: Id, session: DbSession, user: PageUser,
                       participant_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
                       reason: Annotated[str, Form(max_length=500)] = ""):
    stage = service.stage(session, stage_id)
    participant = _participant_in(session, stage, participant_id)
    if participant is None:
        raise InvalidField("participant_id", N_("No participant of this season has this number."))
    service.disqualify(session, user, participant, reason)
    return _console_action(lang, stage_id, gettext(lang, "Done."))


@pages.post("/{lang}/tournament/console/appeals/{appeal_id}", dependencies=[Csrf])
def console_answer(lang: PageLang, appeal_id: Id, session: DbSession, user: PageUser,
                   answer: Annotated[str, Form(max_length=2000)] = ""):
    filed = service.answer_appeal(session, user, appeal_id, answer)
    return _console_action(lang, filed.stage_id, gettext(lang, "Done."))


# ---------------------------------------------------------------- console forms: seasons, categories, stages, tasks

@dataclass(frozen=True)
class FormField:
    """One field of a console form; `label` and `hint` are message ids."""

    name: str
    label: str
    kind: str = "text"  # text | textarea | number | datetime | select | checkboxes | file
    choices: tuple = ()  # (value, message id or plain text)
    hint: str = ""
    required: bool = True


TITLES = (FormField("title_kk", N_("Title in Kazakh")), FormField("title_ru", N_("Title in Russian")))
DESCRIPTIONS = (FormField("description_kk", N_("Description in Kazakh (Markdown)"), "textarea", required=False),
                FormField("description_ru", N_("Description in Russian (Markdown)"), "textarea", required=False))
SEASON_FORM = (FormField("slug", N_("Address"), hint=N_("3 to 60 small Latin letters, digits and dashes, for example 2027-spring.")),
               *TITLES)
CATEGORY_FORM = (FormField("slug", N_("Address"), hint=N_("2 to 40 small Latin letters, digits and dashes, for example grades-5-8.")),
                 *TITLES,
                 FormField("admits", N_("Who may register"), "checkboxes",
                        tuple((value, name) for value, name in CATEGORY_NAMES.items())),
                 FormField("grade_min", N_("First school grade"), "number", required=False,
                        hint=N_("For school categories only; leave empty otherwise.")),
                 FormField("grade_max", N_("Last school grade"), "number", required=False))
STAGE_FORM = (FormField("kind", N_("Kind of stage"), "select", (("qualifier", N_("open online qualifier")),
                                                            ("regional", N_("regional round")),
                                                            ("final", N_("national final")))),
              *TITLES,
              FormField("opens_at", N_("Opens (Astana time)"), "datetime"),
              FormField("closes_at", N_("Closes (Astana time)"), "datetime"),
              FormField("freeze_minutes", N_("Leaderboard frozen for the last minutes"), "number", required=False),
              FormField("advance_top", N_("Advance: the best N of each region and category"), "number", required=False),
              FormField("advance_threshold", N_("Advance: everyone with at least these points"), "number", required=False))
METRIC_CHOICES = tuple(METRIC_NAMES.items())
PRACTICAL_FORM = (FormField("category", N_("Category"), "select"), *TITLES, *DESCRIPTIONS,
                  FormField("metric", N_("Metric"), "select", METRIC_CHOICES),
                  FormField("id_column", N_("Id column")), FormField("target_column", N_("Column to predict")),
                  FormField("classes", N_("Classes, separated by commas"), required=False,
                         hint=N_("For accuracy and macro F1; for ROC AUC the positive class comes second.")),
                  FormField("value_min", N_("Smallest allowed value"), "number", required=False),
                  FormField("value_max", N_("Largest allowed value"), "number", required=False),
                  FormField("daily_limit", N_("Entries per day"), "number"),
                  FormField("total_limit", N_("Entries in all"), "number"),
                  FormField("train", N_("Training data (CSV with the answers)"), "file"),
                  FormField("test", N_("Test data (CSV without the answers)"), "file"),
                  FormField("labels", N_("Hidden answers (CSV: id, answer, split public or private)"), "file"))
QUIZ_FORM = (FormField("category", N_("Category"), "select"), *TITLES, *DESCRIPTIONS,
             FormField("draw", N_("Questions per attempt"), "number"), FormField("minutes", N_("Minutes per attempt"), "number"),
             FormField("bank_kk", N_("Question bank in Kazakh (YAML, the course quiz format)"), "file"),
             FormField("bank_ru", N_("Question bank in Russian (YAML, the same questions)"), "file"))


def _filled(fields: tuple, form) -> dict:
    """A submitted form as values: empty optional fields left out, checkboxes as lists, files apart."""
    values = {}
    for f in fields:
        if f.kind == "checkboxes":
            values[f.name] = [str(v) for v in form.getlist(f.name)]
        elif f.kind != "file" and str(form.get(f.name, "")).strip() != "":
            values[f.name] = str(form.get(f.name)).strip()
            if f.kind == "number":  # "0,5" is how Kazakh and Russian write 0.5
                values[f.name] = values[f.name].replace(",", ".").replace(" ", "")
    return values


def _upload(request: Request, form, name: str, kind: uploads.Kind = uploads.CSV, limit: str = "task_data") -> bytes:
    upload = form.get(name)
    if not hasattr(upload, "file") or not upload.filename:
        raise InvalidField(name, N_("Choose a file."))
    return uploads.read_upload(upload, kind, limit, field=name, refused=_refused_uploads(request))


def _console_form(request: Request, lang: str, title: str, fields: tuple, action: str, back: str,
                  form: dict | None = None, errors: dict | None = None, choices: dict | None = None) -> Response:
    """`choices`: a select's options made at run time (a season's categories); the others are the fields'."""
    choices = dict(choices or {})
    for f in fields:
        if f.kind == "select" and f.name not in choices:
            choices[f.name] = tuple((value, gettext(lang, label)) for value, label in f.choices)
    return _render(request, "tournament/console_form.html", {
        "title": title, "fields": fields, "action": action, "back": back, "form": form or {},
        "errors": errors or {}, "choices": choices, "multipart": any(f.kind == "file" for f in fields),
    }, lang=lang, status_code=422 if errors else 200)


def _refused(request: Request, lang: str, error: InvalidField, session, **form_options) -> Response:
    """The form again, filled in, each message beside its field; nothing of the attempt is kept."""
    session.rollback()
    errors = {field: gettext(lang, message, **error.values) for field, message in error.errors.items()}
    return _console_form(request, lang, errors=errors, **form_options)


def _when(values: dict, name: str):
    """A form's date and time, written in Astana time, in UTC."""
    try:
        return parse_due(values.get(name))
    except InvalidField:
        raise InvalidField(name, N_("Enter a date and time.")) from None


@pages.get("/{lang}/tournament/console/seasons/new")
def new_season_page(request: Request, lang: PageLang, user: PageUser):
    _organiser(user)
    return _console_form(request, lang, gettext(lang, "New season"), SEASON_FORM,
                         f"/{lang}/tournament/console/seasons/new", f"/{lang}/tournament/console")


@pages.post("/{lang}/tournament/console/seasons/new", dependencies=[Csrf])
def create_season_page(request: Request, lang: PageLang, session: DbSession, user: PageUser, form: SubmittedForm):
    _organiser(user)
    values = _filled(SEASON_FORM, form)
    try:
        data = validated(SeasonIn, values)
        season = service.create_season(session, user, data.slug, both(data, "title"))
    except InvalidField as error:
        return _refused(request, lang, error, session, title=gettext(lang, "New season"), fields=SEASON_FORM,
                        action=f"/{lang}/tournament/console/seasons/new", back=f"/{lang}/tournament/console",
                        form=values)
    return _console_done(lang, gettext(lang, "The season «%(title)s» is created.",
                                       title=service.title_of(season.title, content_language(lang))))


def _console_done(lang: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"/{lang}/tournament/console?message={quote(message)}", status_code=303)


SEASON_PARTS = {"categories": (CATEGORY_FORM, CategoryIn, N_("New category")),
                "stages": (STAGE_FORM, StageIn, N_("New stage"))}


@pages.get("/{lang}/tournament/console/seasons/{slug}/{part}/new")
def new_season_part_page(request: Request, lang: PageLang, slug: str, part: str, session: DbSession, user: PageUser):
    _organiser(user)
    season = service.season_by_slug(session, slug)
    if part not in SEASON_PARTS:
        raise NotFound
    fields, _model, title = SEASON_PARTS[part]
    return _console_form(request, lang, _part_title(lang, title, season), fields,
                         f"/{lang}/tournament/console/seasons/{slug}/{part}/new", f"/{lang}/tournament/console",
                         form={"freeze_minutes": "0"} if part == "stages" else {})


def _part_title(lang: str, title: str, season: Season) -> str:
    return f"{gettext(lang, title)}: {service.title_of(season.title, content_language(lang))}"


@pages.post("/{lang}/tournament/console/seasons/{slug}/{part}/new", dependencies=[Csrf])
def add_season_part_page(request: Request, lang: PageLang, slug: str, part: str, session: DbSession, user: PageUser,
                         form: SubmittedForm):
    _organiser(user)
    season = service.season_by_slug(session, slug)
    if part not in SEASON_PARTS:
        raise NotFound
    fields, model, title = SEASON_PARTS[part]
    values = _filled(fields, form)
    try:
        if part == "stages":
            data = validated(model, {**values, "opens_at": _when(values, "opens_at"),
                                     "closes_at": _when(values, "closes_at")})
            made = service.add_stage(session, user, season, data.kind, both(data, "title"),
                                     data.opens_at, data.closes_at, data.freeze_minutes, data.advance_top,
                                     data.advance_threshold)
        else:
            data = validated(model, values)
            made = service.add_category(session, user, season, data.slug, both(data, "title"),
                                        data.admits, data.grade_min, data.grade_max)
    except InvalidField as error:
        return _refused(request, lang, error, session, title=_part_title(lang, title, season), fields=fields,
                        action=f"/{lang}/tournament/console/seasons/{slug}/{part}/new",
                        back=f"/{lang}/tournament/console", form=values)
    return _console_done(lang, gettext(lang, "Added: %(title)s.", title=service.title_of(made.title, content_language(lang))))


STAGE_PARTS = {"practical": (PRACTICAL_FORM, N_("New practical task")), "quiz": (QUIZ_FORM, N_("New quiz task"))}


def _stage_part(session, lang: str, stage_id: int, part: str) -> tuple[Stage, tuple, str, dict]:
    stage = service.stage(session, stage_id)
    if part not in STAGE_PARTS:
        raise NotFound
    fields, title = STAGE_PARTS[part]
    text = content_language(lang)
    categories = tuple((c.slug, service.title_of(c.title, text)) for c in service.categories_of(session, stage.season_id))
    return stage, fields, f"{gettext(lang, title)}: {service.title_of(stage.title, text)}", {"category": categories}


@pages.get("/{lang}/tournament/console/stages/{stage_id}/{part}/new")
def new_task_page(request: Request, lang: PageLang, stage_id: Id, part: str, session: DbSession, user: PageUser):
    _organiser(user)
    stage, fields, title, choices = _stage_part(session, lang, stage_id, part)
    defaults = {"daily_limit": "5", "total_limit": "50"} if part == "practical" else {"draw": "15", "minutes": "20"}
    return _console_form(request, lang, title, fields, f"/{lang}/tournament/console/stages/{stage_id}/{part}/new",
                         f"/{lang}/tournament/console/stages/{stage_id}", form=defaults, choices=choices)


@pages.post("/{lang}/tournament/console/stages/{stage_id}/{part}/new", dependencies=[Csrf])
def add_task_page(request: Request, lang: PageLang, stage_id: Id, part: str, session: DbSession, user: PageUser,
                  form: SubmittedForm):
    _organiser(user)
    stage, fields, title, choices = _stage_part(session, lang, stage_id, part)
    values = _filled(fields, form)
    try:
        if part == "practical":
            data = validated(PracticalTaskIn, values)
            files = service.TaskFiles(_upload(request, form, "train"), _upload(request, form, "test"),
                                      _upload(request, form, "labels"))
            task = _add_practical(request, session, user, stage, data, files)
        else:
            data = validated(QuizTaskIn, values)
            task = service.add_quiz_task(
                session, stage, _category_in(session, stage, data.category),
                title=both(data, "title"),
                description=both(data, "description"),
                questions=service.read_bank(_upload(request, form, "bank_kk", uploads.YAML, "question_bank"),
                                            _upload(request, form, "bank_ru", uploads.YAML, "question_bank"), data.draw),
                draw=data.draw, minutes=data.minutes, actor=user)
    except InvalidField as error:
        return _refused(request, lang, error, session, title=title, fields=fields,
                        action=f"/{lang}/tournament/console/stages/{stage_id}/{part}/new",
                        back=f"/{lang}/tournament/console/stages/{stage_id}", form=values, choices=choices)
    return _console_action(lang, stage_id, gettext(lang, "Added: %(title)s.",
                                                   title=service.title_of(task.title, content_language(lang))))
