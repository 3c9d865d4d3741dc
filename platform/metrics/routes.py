"""The national indicators: the public dashboard and its API, open data, and the admins' page where the
official population is loaded (dry run first) and the rollup can be run at once."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import col, select
from starlette.datastructures import UploadFile

from gennation.courses.models import Course
from gennation.frontend.rendering import render
from gennation.platform.accounts.models import Role
from gennation.platform.accounts.vocabulary import INSTITUTION_KIND_NAMES, REGION_NAMES
from gennation.platform.deps import (
    ApiLang, ApiUser, Csrf, CurrentUser, DbSession, PageLang, PageUser, SubmittedForm, UnitOfWorkRoute,
    PagePerson, require_role,
)
from gennation.platform import files
from gennation.platform.errors import Forbidden
from gennation.platform.i18n import content_language, gettext
from gennation.platform.institutions import directory
from gennation.platform.institutions.models import Institution
from gennation.platform.metrics import charts, service
from gennation.platform.metrics.regions import ISO_CODES, NATIONAL_ISO
from gennation.tournament.models import Category, Season, Stage
from gennation.platform.metrics.schemas import (
    CellOut, DenominatorSourceOut, IndicatorOut, IndicatorsOut, NotMeasuredOut, PopulationIn, PopulationOut,
    PopulationRowError,
)

pages = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False, dependencies=[PagePerson])
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["indicators"])
ALMATY = ZoneInfo("Asia/Almaty")
Year = Annotated[int | None, Query(ge=service.FIRST_YEAR, le=2100)]


def _year(year: int | None) -> int:
    return year or service.current_year()


# ---------------------------------------------------------------- the dashboard

def _labels(session, board: service.Dashboard, lang: str) -> dict[str, dict[str, str]]:
    """The names of what the breakdowns hold (two small queries: agencies and courses)."""
    agency_ids = {int(c.breakdown) for f in board.indicators if f.indicator.key == "civil_servants_trained"
                  for c in f.breakdowns if c.breakdown.isdigit()}
    agencies = {str(i.id): i.title(lang) for i in session.exec(select(Institution)
                                                                .where(col(Institution.id).in_(agency_ids)))} \
        if agency_ids else {}
    clang = content_language(lang)
    courses = {slug: (title or {}).get(clang) or slug for slug, title in session.exec(select(Course.slug, Course.title))}
    kinds = {kind: gettext(lang, name) for kind, name in INSTITUTION_KIND_NAMES.items()}
    return {"agency": agencies, "course": courses, "kind": kinds, "stage": _stage_labels(session, clang)}


def _stage_labels(session, clang: str) -> dict[str, str]:
    """"Season · stage · category" for every stage-and-category breakdown of the tournament indicator."""
    titles = lambda value: (value or {}).get(clang) or ""  # noqa: E731
    seasons = {i: titles(t) for i, t in session.exec(select(Season.id, Season.title))}
    categories = {(c.season_id, c.id): titles(c.title) for c in session.exec(select(Category))}
    return {f"{stage_id}-{category_id}": f"{seasons.get(season_id, '')} · {titles(stage_title)} · {name}"
            for stage_id, season_id, stage_title in session.exec(select(Stage.id, Stage.season_id, Stage.title))
            for (category_season, category_id), name in categories.items() if category_season == season_id}


def _breakdown_label(lang: str, indicator: service.Indicator, breakdown: str, labels: dict) -> str:
    if indicator.breakdown == "grade":
        return gettext(lang, "Grade not given") if breakdown == "none" else gettext(lang, "Grade %(grade)s", grade=breakdown)
    return labels.get(indicator.breakdown, {}).get(breakdown, breakdown)


def _context(session, year: int, lang: str, public: bool) -> dict:
    board = service.dashboard(session, year, public=public)
    labels = _labels(session, board, lang)
    sections = []
    for figures in board.indicators:
        indicator = figures.indicator
        percent = indicator.unit == "percent"
        if indicator.breakdown in ("agency", "course", "stage"):  # one bar per agency, course or stage, nationally
            rows = [(_breakdown_label(lang, indicator, c.breakdown, labels), c) for c in figures.breakdowns]
        else:
            rows = [(gettext(lang, REGION_NAMES[c.region]), c) for c in figures.regions]
        reference = service.COMPLETION_ANCHOR if indicator.key == "course_completion_rate" else figures.target
        breakdowns = [(_breakdown_label(lang, indicator, c.breakdown, labels), c) for c in figures.breakdowns] \
            if indicator.breakdown in ("kind", "grade") else []
        sections.append({"figures": figures, "rows": rows, "chart": charts.bar_chart(rows, reference, percent),
                         "reference": reference, "breakdowns": breakdowns, "percent": percent})
    awareness = next(f for f in board.indicators if f.indicator.key == "ai_awareness")
    width, height, units = charts.map_units(awareness)
    stamp = board.computed_at
    updated = stamp.astimezone(ALMATY).strftime("%Y-%m-%d %H:%M") if stamp else None
    return {"board": board, "sections": sections, "updated": updated, "map": {"width": width, "height": height, "units": units},
            "awareness": awareness, "steps": charts.STEPS, "no_data": charts.NO_DATA, "region_names": REGION_NAMES,
            "iso": ISO_CODES, "national_iso": NATIONAL_ISO, "small_cell": service.SMALL_CELL,
            "years": list(range(service.FIRST_YEAR, max(service.current_year(), service.FIRST_YEAR) + 1)),
            "public": public}


@pages.get("/{lang}/indicators")
def indicators_page(request: Request, lang: PageLang, session: DbSession, user: CurrentUser, year: Year = None):
    """The public dashboard: read from the rollup only, suppressed as open data is."""
    year = _year(year)
    context = _context(session, year, lang, public=True)
    stamp = context["board"].computed_at
    return render(request, "metrics/indicators.html", context, lang=lang,
                  public=f"indicators|{year}|{stamp.isoformat() if stamp else ''}" if user is None else None)


def _admin_page(request: Request, lang: str, session, year: int | None = None, status_code: int = 200, **more):
    year = _year(year)
    context = {**_context(session, year, lang, public=False), **more}
    return render(request, "metrics/admin.html", context, lang=lang, status_code=status_code)


@pages.get("/{lang}/admin/indicators", dependencies=[Depends(require_role(Role.admin))])
def admin_page(request: Request, lang: PageLang, session: DbSession, year: Year = None):
    """The same figures unsuppressed, the population file and the rollup, for admins."""
    return _admin_page(request, lang, session, year)


def _uploads(request: Request) -> FilePath:
    return request.app.state.settings.var_dir / "imports" / "population"


@pages.post("/{lang}/admin/indicators/population/check", dependencies=[Depends(require_role(Role.admin)), Csrf])
def population_check(request: Request, lang: PageLang, session: DbSession, raw: SubmittedForm):
    """A dry run of an uploaded population file; nothing is loaded yet."""
    upload = raw.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _admin_page(request, lang, session, status_code=422, error=gettext(lang, "Choose a CSV file."))
    data = files.read_upload(upload, files.CSV, "population", refused=_uploads(request))
    checked, kept_as = directory.check_and_keep(_uploads(request), data, service.check_population)
    return _admin_page(request, lang, session, status_code=200 if checked.clean else 422, checked=checked,
                       upload=kept_as, file_name=upload.filename)


@pages.post("/{lang}/admin/indicators/population/load", dependencies=[Depends(require_role(Role.admin)), Csrf])
def population_load(request: Request, lang: PageLang, session: DbSession, user: PageUser,
                    upload: Annotated[str, Form(max_length=64)] = "", file_name: Annotated[str, Form(max_length=300)] = ""):
    """Load exactly the file that was checked, then roll the indicators up with the new denominators."""
    data = directory.kept(_uploads(request), upload)
    if data is None:
        return _admin_page(request, lang, session, status_code=404,
                           error=gettext(lang, "This upload is no longer kept. Please upload the file again."))
    checked = service.check_population(data)
    if not checked.clean:
        return _admin_page(request, lang, session, status_code=422, checked=checked, upload=upload, file_name=file_name)
    loaded = service.load_population(session, checked, user)
    service.roll_up(session)
    return _admin_page(request, lang, session, loaded=loaded)


@pages.post("/{lang}/admin/indicators/roll-up", dependencies=[Depends(require_role(Role.admin)), Csrf])
def roll_up_now(request: Request, lang: PageLang, session: DbSession):
    service.roll_up(session)
    return _admin_page(request, lang, session, rolled_up=True)


# ---------------------------------------------------------------- the API and open data

def _cell_out(cell: service.Cell) -> CellOut:
    return CellOut(region=cell.region, region_iso=cell.iso, breakdown=cell.breakdown, numerator=cell.numerator,
                   denominator=cell.denominator, percent=cell.percent, suppressed=cell.suppressed)


@api.get("/indicators", response_model=IndicatorsOut)
def api_indicators(session: DbSession, lang: ApiLang, year: Year = None):
    """Every indicator nationally and per region (ISO 3166-2:KZ codes), with its target for the year, the
    source and date of its denominator and when it was computed. Counts below 10 people are suppressed."""
    board = service.dashboard(session, _year(year))
    sources = [DenominatorSourceOut(source=s, date=d, year=y) for s, d, y in board.population_source]
    return IndicatorsOut(
        year=board.year, computed_at=board.computed_at, small_cell=service.SMALL_CELL,
        indicators=[IndicatorOut(
            key=f.indicator.key, title=gettext(lang, f.indicator.title), description=gettext(lang, f.indicator.description),
            unit=f.indicator.unit, year=f.year, target_percent=f.target,
            national=_cell_out(f.national) if f.national else None, regions=[_cell_out(c) for c in f.regions],
            breakdowns=[_cell_out(c) for c in f.breakdowns],
            by_region_and_breakdown=[_cell_out(c) for c in f.by_region_breakdown],
            denominator_sources=sources if f.indicator.key == "ai_awareness" else [], computed_at=f.computed_at)
            for f in board.indicators],
        not_measured=[NotMeasuredOut(key=i.key, title=gettext(lang, i.title), reason=gettext(lang, i.description))
                      for i in board.missing])


def _years(year: int | None) -> list[int] | None:
    return [year] if year else None


def _dictionary(lang: str) -> dict:
    return {"fields": {name: gettext(lang, meaning) for name, meaning in service.OPEN_DATA_FIELDS},
            "indicators": {i.key: {"title": gettext(lang, i.title), "description": gettext(lang, i.description),
                                   "unit": i.unit, "breakdown": i.breakdown or None, "measured": i.available}
                           for i in service.INDICATORS},
            "regions": {region: {"iso": iso, "name": gettext(lang, REGION_NAMES[region])} for region, iso in ISO_CODES.items()},
            "targets_percent": service.TARGETS, "small_cell": service.SMALL_CELL,
            "suppression": gettext(lang, "Counts below 10 people are not published; further cells are hidden so "
                                         "that no hidden count can be worked out from the totals."),
            "licence": "CC BY 4.0"}


@api.get("/open-data/indicators.json")
def open_data_json(session: DbSession, lang: ApiLang, year: Year = None):
    """The aggregated indicators by year and region, with their data dictionary (suppression applied)."""
    rows = service.open_data_rows(session, _years(year))
    return Response(json.dumps({"dictionary": _dictionary(lang), "rows": rows}, ensure_ascii=False, default=str),
                    media_type="application/json")


@api.get("/open-data/indicators.csv")
def open_data_csv(session: DbSession, year: Year = None):
    """The same rows as CSV (UTF-8, comma-separated); the dictionary is at indicators-dictionary.json."""
    body = service.open_data_csv(service.open_data_rows(session, _years(year)))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="indicators.csv"'})


@api.get("/open-data/indicators-dictionary.json")
def open_data_dictionary(lang: ApiLang):
    return _dictionary(lang)


@api.post("/indicators/population", response_model=PopulationOut,
          responses={403: {"description": "Not an admin"}, 422: {"description": "The file has bad rows; nothing loaded"}})
def api_load_population(data: PopulationIn, session: DbSession, user: ApiUser, lang: ApiLang):
    """Load the official population per region and year (admins). A dry run, or a file with any bad row,
    loads nothing; every bad row is listed."""
    if user.role != Role.admin:
        raise Forbidden
    checked = service.check_population(data.csv.encode("utf-8"))
    errors = [PopulationRowError(line=e.line, column=e.column, message=gettext(lang, e.message, **e.values))
              for e in checked.errors]
    if not checked.clean:
        out = PopulationOut(loaded=0, dry_run=data.dry_run, errors=errors)
        return Response(out.model_dump_json(), status_code=422, media_type="application/json")
    if data.dry_run:
        return PopulationOut(loaded=0, dry_run=True, errors=[])
    loaded = service.load_population(session, checked, user)
    service.roll_up(session)
    return PopulationOut(loaded=loaded, dry_run=False, errors=[])
