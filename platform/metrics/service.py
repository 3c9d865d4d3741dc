"""National indicators: the population file, the rollup, what the dashboard, the API and open data show.

The rollup aggregates in the database (a handful of GROUP BY statements whatever the number of learners)
and replaces the `IndicatorValue` rows of every year from 2024; pages read those rows only. Open data and
the public views publish no count of people below `SMALL_CELL`, and hide enough other cells that no hidden
one can be worked out from the totals (`suppress`)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import UTC, date, datetime

from sqlalchemy import delete, insert, or_
from sqlmodel import Session, col, func, select

from gennation.certificates.models import Certificate
from gennation.courses.models import Course, CourseCompletion, Enrollment
from gennation.courses.service import completion_hooks
from gennation.platform.accounts.models import REGIONS, Category, Role, User
from gennation.platform.agencies.models import Employee
from gennation.platform.database import utcnow
from gennation.platform.i18n import N_
from gennation.platform.institutions.directory import RowError, read_text
from gennation.platform.institutions.models import Adoption, Institution, InstitutionKind
from gennation.platform.metrics.models import IndicatorValue, PopulationFigure
from gennation.platform.metrics.regions import ISO_CODES, NATIONAL_ISO, REGION_OF_ISO
from gennation.tournament.models import Advancement, Participant, Stage, StageKind, StageStatus

FIRST_YEAR = 2024
# The AI Development Concept 2024-2029: the share to reach by the end of each year, in per cent.
TARGETS = {2024: 5, 2025: 20, 2026: 30, 2027: 40, 2028: 50, 2029: 60}
SMALL_CELL = 10  # no count of fewer people is published
COMPLETION_ANCHOR = 16  # per cent: Elements of AI's completion rate, the one to beat
NATIONAL = ""


@dataclass(frozen=True)
class Indicator:
    key: str
    title: str  # message id
    description: str  # message id: what is counted, over what
    unit: str  # "percent" (a share with a denominator) or "count"
    breakdown: str = ""  # what the breakdown column holds: "", "kind", "grade", "agency", "course"
    people: bool = True  # counts people (suppressed below SMALL_CELL) or institutions (a public directory)
    targeted: bool = False  # measured against TARGETS
    available: bool = True


INDICATORS = (
    Indicator("ai_awareness", N_("Population aware of AI"),
              N_("People who completed at least one course, over the official population."), "percent",
              targeted=True),
    Indicator("institutions_ai_programmes", N_("Universities and colleges with AI programmes"),
              N_("Universities and colleges that adopted a course into a programme or whose learners completed one, "
                 "over all universities and colleges in the directory."), "percent", "kind", people=False,
              targeted=True),
    Indicator("civil_servants_trained", N_("Civil servants trained"),
              N_("Staff of state agencies who hold a valid course certificate, over the staff on the agencies' lists."),
              "percent",
              "agency", targeted=True),
    Indicator("school_students_certified", N_("School students certified"),
              N_("School students who hold a valid course certificate, by grade."), "count", "grade"),
    Indicator("teachers_certified", N_("Teachers certified"), N_("Teachers who hold a valid course certificate."),
              "count"),
    Indicator("course_completion_rate", N_("Completion rate per course"),
              N_("Learners who completed a course, over those who enrolled in it (Elements of AI: about 16 %)."),
              "percent", "course"),
    Indicator("tournament_participants", N_("Tournament participants"),
              N_("People taking part in each stage and category of the national AI tournament: in the qualifier "
                 "everyone registered, in later stages those who advanced."),
              "count", "stage"),
)
BY_KEY = {indicator.key: indicator for indicator in INDICATORS}
CERTIFIED = (InstitutionKind.university, InstitutionKind.college)


def target_for(year: int) -> int | None:
    return TARGETS.get(year)


def current_year(now: datetime | None = None) -> int:
    return (now or utcnow()).year


# ---------------------------------------------------------------- the population file

POPULATION_COLUMNS = ("year", "region", "population", "source", "source_date")
MAX_POPULATION_ROWS = 2_000


@dataclass
class PopulationCheck:
    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.errors and bool(self.rows)


def check_population(data: bytes) -> PopulationCheck:
    """A dry run of a population file (columns year, region, population, source, source_date; one row per
    region and year, all 20 units for every year in it): reads and checks everything, writes nothing."""
    checked = PopulationCheck()
    read = read_text(data)
    if isinstance(read, RowError):
        checked.errors.append(read)
        return checked
    text, _encoding, delimiter = read
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in POPULATION_COLUMNS if name not in header]
    if missing:
        checked.errors.append(RowError(1, ", ".join(missing), N_("The header lacks these columns: %(columns)s."),
                                       {"columns": ", ".join(missing)}))
        return checked
    reader.fieldnames = header
    seen: dict[tuple[int, str], int] = {}
    for line, raw in enumerate(reader, start=2):
        if line > MAX_POPULATION_ROWS + 1:
            checked.errors.append(RowError(line, "", N_("A file may hold at most %(rows)s rows."),
                                           {"rows": MAX_POPULATION_ROWS}))
            break
        row = {name: (raw.get(name) or "").strip() for name in POPULATION_COLUMNS}
        if not any(row.values()):
            continue
        errors, parsed = _population_row(line, row)
        if parsed and (parsed["year"], parsed["region"]) in seen:
            errors.append(RowError(line, "region", N_("This region and year are already on line %(line)s."),
                                   {"line": seen[(parsed["year"], parsed["region"])]}))
        if parsed:
            seen.setdefault((parsed["year"], parsed["region"]), line)
        checked.errors += errors
        if not errors:
            checked.rows.append(parsed)
    for year in sorted({year for year, _ in seen}):
        absent = [ISO_CODES[r] for r in REGIONS if (year, r) not in seen]
        if absent:
            checked.errors.append(RowError(0, "region", N_("The year %(year)s lacks these regions: %(regions)s."),
                                           {"year": year, "regions": ", ".join(absent)}))
    if not checked.rows and not checked.errors:
        checked.errors.append(RowError(2, "", N_("The file has no rows.")))
    return checked


def _population_row(line: int, row: dict) -> tuple[list[RowError], dict | None]:
    errors = []
    region = row["region"] if row["region"] in ISO_CODES else REGION_OF_ISO.get(row["region"].upper())
    if region is None:
        errors.append(RowError(line, "region", N_("Unknown region code «%(value)s»."), {"value": row["region"]}))
    year = int(row["year"]) if row["year"].isdigit() else None
    if year is None or not 2000 <= year <= 2100:
        errors.append(RowError(line, "year", N_("«%(value)s» is not a year."), {"value": row["year"]}))
    number = row["population"].replace(" ", "").replace("\u00a0", "")
    population = int(number) if number.lstrip("-").isdigit() else None
    if population is None:
        errors.append(RowError(line, "population", N_("«%(value)s» is not a whole number."), {"value": row["population"]}))
    elif population < 0:
        errors.append(RowError(line, "population", N_("The population cannot be negative.")))
    if not row["source"] or len(row["source"]) > 300:
        errors.append(RowError(line, "source", N_("Name the source of the figure (up to 300 characters).")))
    try:
        published = date.fromisoformat(row["source_date"])
    except ValueError:
        published = None
        errors.append(RowError(line, "source_date", N_("«%(value)s» is not a date (YYYY-MM-DD)."),
                               {"value": row["source_date"]}))
    if region is None or year is None:
        return errors, None
    return errors, {"year": year, "region": region, "population": population, "source": row["source"],
                    "source_date": published}


def load_population(session: Session, checked: PopulationCheck, by: User | None = None) -> int:
    """Write a clean dry run: each region and year's figure is added or replaced. Returns the rows written."""
    if not checked.clean:
        raise ValueError("only a clean dry run can be loaded")
    years = {row["year"] for row in checked.rows}
    existing = {(f.year, f.region): f for f in session.exec(select(PopulationFigure)
                                                             .where(col(PopulationFigure.year).in_(years)))}
    for row in checked.rows:
        figure = existing.get((row["year"], row["region"])) or PopulationFigure(**row)
        for key, value in row.items():
            setattr(figure, key, value)
        figure.loaded_at, figure.loaded_by = utcnow(), by.id if by else None
        session.add(figure)
    session.flush()
    return len(checked.rows)


def population_for(session: Session, year: int) -> dict[str, PopulationFigure]:
    """Each region's official figure for `year`, or its latest earlier one (the source and date say which)."""
    figures: dict[str, PopulationFigure] = {}
    for figure in session.exec(select(PopulationFigure).where(PopulationFigure.year <= year)
                               .order_by(PopulationFigure.year)):
        figures[figure.region] = figure
    return figures


# ---------------------------------------------------------------- the rollup

def _year_end(year: int) -> datetime:
    return datetime(year + 1, 1, 1, tzinfo=UTC)


def _year_of(value) -> int:
    # SQLite hands back text for an aggregate of datetimes; PostgreSQL a datetime.
    return value.year if hasattr(value, "year") else int(str(value)[:4])


def valid_certificates():
    """Per person, the issue date of their first course certificate that is not revoked (a subquery)."""
    return (select(Certificate.user_id, func.min(Certificate.issued_on).label("first"))
            .where(Certificate.kind == "course", col(Certificate.revoked_at).is_(None))
            .group_by(Certificate.user_id).subquery())


def roll_up(session: Session, now: datetime | None = None) -> int:
    """Recompute every indicator of every year from FIRST_YEAR to now; returns the rows written."""
    now = now or utcnow()
    years = list(range(FIRST_YEAR, max(current_year(now), FIRST_YEAR) + 1))
    cells: dict[tuple[str, int, str, str], list] = {}

    def add(indicator: str, first_year: int, region: str, breakdown: str = "", amount: int = 1) -> None:
        for year in years:
            if year >= first_year:
                for place in {region, NATIONAL}:
                    cells.setdefault((indicator, year, place, breakdown), [0, None])[0] += amount

    # People: the year of each person's first completion, counted per region and year in the database (a
    # few hundred rows come back, not one per person).
    first = (select(CourseCompletion.user_id, func.min(CourseCompletion.completed_at).label("first"))
             .group_by(CourseCompletion.user_id).subquery())
    first_year = func.extract("year", first.c.first)
    for region, year, count in session.exec(select(User.region, first_year, func.count())
                                            .join(first, first.c.user_id == User.id)
                                            .group_by(User.region, first_year)).all():
        add("ai_awareness", int(year), region, amount=count)

    # Certified: the year of each school student's and teacher's first course certificate that is still
    # valid (a revoked one does not count; a re-issued one counts once, by its new certificate).
    first_certificate = valid_certificates()
    certified_year = func.extract("year", first_certificate.c.first)
    certified = session.exec(
        select(User.region, User.category, User.role, User.school_grade, certified_year, func.count())
        .join(first_certificate, first_certificate.c.user_id == User.id)
        .where(or_(User.category == Category.school_student, User.role == Role.teacher))
        .group_by(User.region, User.category, User.role, User.school_grade, certified_year)).all()
    for region, category, role, grade, year, count in certified:
        year = int(year)
        if category == Category.school_student:
            add("school_students_certified", year, region, str(grade) if grade else "none", count)
            add("school_students_certified", year, region, "", count)
        if role == Role.teacher:
            add("teachers_certified", year, region, amount=count)

    # Universities and colleges: the first year of an adoption or of a completion by one of its learners.
    institutions = session.exec(select(Institution.id, Institution.kind, Institution.region)
                                .where(col(Institution.kind).in_(CERTIFIED))).all()
    adopted = dict(session.exec(select(Adoption.institution_id, func.min(Adoption.since))
                                .join(Institution).where(col(Institution.kind).in_(CERTIFIED))
                                .group_by(Adoption.institution_id)).all())
    learned = dict(session.exec(select(User.institution_id, func.min(CourseCompletion.completed_at))
                                .join(CourseCompletion, CourseCompletion.user_id == User.id)
                                .join(Institution, Institution.id == User.institution_id)
                                .where(col(Institution.kind).in_(CERTIFIED)).group_by(User.institution_id)).all())
    for institution_id, kind, region in institutions:
        kind = kind.value if hasattr(kind, "value") else kind
        for breakdown in (kind, ""):
            for year in years:
                for place in {region, NATIONAL}:
                    cells.setdefault(("institutions_ai_programmes", year, place, breakdown), [0, 0])[1] += 1
        starts = [_year_of(v) for v in (adopted.get(institution_id), learned.get(institution_id)) if v is not None]
        if starts:
            add("institutions_ai_programmes", min(starts), region, kind)
            add("institutions_ai_programmes", min(starts), region, "")

    # Civil servants: each agency's confirmed staff, and those of them trained: who hold a valid course
    # certificate (for them, issued when the final exam is passed).
    staff = (select(Employee.institution_id, Employee.user_id, first_certificate.c.first)
             .outerjoin(first_certificate, first_certificate.c.user_id == Employee.user_id)
             .where(col(Employee.confirmed_at).is_not(None)))
    agency_region = dict(session.exec(select(Institution.id, Institution.region)
                                      .where(Institution.kind == InstitutionKind.state_body)).all())
    for agency_id, _user_id, when in session.exec(staff).all():
        region = agency_region.get(agency_id, "")
        for breakdown in (str(agency_id), ""):
            for year in years:
                for place in {region, NATIONAL}:
                    cell = cells.setdefault(("civil_servants_trained", year, place, breakdown), [0, 0])
                    cell[1] = (cell[1] or 0) + 1
            if when is not None:
                add("civil_servants_trained", _year_of(when), region, breakdown)

    # Completion rate per course: enrolments and completions, by the learner's region.
    enrolled = session.exec(select(Course.slug, User.region, func.extract("year", Enrollment.enrolled_at), func.count())
                            .join(Course, Course.id == Enrollment.course_id).join(User, User.id == Enrollment.user_id)
                            .group_by(Course.slug, User.region, func.extract("year", Enrollment.enrolled_at))).all()
    completed = session.exec(select(Course.slug, User.region, func.extract("year", CourseCompletion.completed_at),
                                    func.count())
                             .join(Course, Course.id == CourseCompletion.course_id)
                             .join(User, User.id == CourseCompletion.user_id)
                             .group_by(Course.slug, User.region, func.extract("year", CourseCompletion.completed_at))).all()
    for slug, region, year, count in enrolled:
        for each in years:
            if each >= int(year):
                for place in {region, NATIONAL}:
                    cell = cells.setdefault(("course_completion_rate", each, place, slug), [0, 0])
                    cell[1] = (cell[1] or 0) + count
    for slug, region, year, count in completed:
        add("course_completion_rate", int(year), region, slug, count)

    # The tournament, per stage and category (breakdown "stage id-category id"): those admitted to the stage,
    # by the region they compete in, from the year the stage opens. No total per region: one person takes
    # part in several stages, so the stages do not add up to it (as courses do not).
    for stage_id, season_id, kind, opens_at in session.exec(select(Stage.id, Stage.season_id, Stage.kind, Stage.opens_at)
                                                            .where(Stage.status != StageStatus.draft)).all():
        people = select(Participant.region, Participant.category_id, func.count())
        if kind == StageKind.qualifier:
            people = people.where(Participant.season_id == season_id)
        else:
            people = people.join(Advancement, Advancement.participant_id == Participant.id).where(
                Advancement.stage_id == stage_id)
        for region, category_id, count in session.exec(people.group_by(Participant.region, Participant.category_id)):
            add("tournament_participants", _year_of(opens_at), region, f"{stage_id}-{category_id}", count)

    # Population aware of AI: over the official figure (none loaded: no share, only the count).
    for year in years:
        figures = population_for(session, year)
        for region in (*REGIONS, NATIONAL):
            cell = cells.setdefault(("ai_awareness", year, region, ""), [0, None])
            if region == NATIONAL:
                cell[1] = sum(f.population for f in figures.values()) if len(figures) == len(REGIONS) else None
            else:
                cell[1] = figures[region].population if region in figures else None
        for region in (*REGIONS, NATIONAL):
            cells.setdefault(("teachers_certified", year, region, ""), [0, None])
            cells.setdefault(("school_students_certified", year, region, ""), [0, None])

    session.execute(delete(IndicatorValue).where(col(IndicatorValue.year).in_(years)))
    rows = [{"indicator": indicator, "year": year, "region": region, "breakdown": breakdown, "numerator": n,
             "denominator": d, "computed_at": now} for (indicator, year, region, breakdown), (n, d) in cells.items()]
    for start in range(0, len(rows), 5_000):
        session.execute(insert(IndicatorValue), rows[start:start + 5_000])
    session.flush()
    return len(rows)


def count_completion(session: Session, completion: CourseCompletion) -> None:
    """The completion event: this year's awareness and completion-rate cells move at once (the beat job
    recomputes everything else). A person counts towards awareness at their first completion only.
    Three statements; a cell the rollup has not made yet is made by the next rollup."""
    user = session.get(User, completion.user_id)
    course = session.get(Course, completion.course_id)
    if user is None or course is None:
        return
    earlier = session.exec(select(func.count()).select_from(CourseCompletion)
                           .where(CourseCompletion.user_id == user.id, CourseCompletion.id != completion.id)).one()
    wanted = {("course_completion_rate", course.slug)} | ({("ai_awareness", "")} if earlier == 0 else set())
    cells = session.exec(select(IndicatorValue).where(
        IndicatorValue.year == current_year(completion.completed_at),
        col(IndicatorValue.indicator).in_([indicator for indicator, _ in wanted]),
        col(IndicatorValue.region).in_([user.region, NATIONAL]),
        col(IndicatorValue.breakdown).in_([breakdown for _, breakdown in wanted]))).all()
    for cell in cells:
        if (cell.indicator, cell.breakdown) in wanted:
            cell.numerator += 1
            cell.computed_at = utcnow()
            session.add(cell)
    session.flush()


if count_completion not in completion_hooks:
    completion_hooks.append(count_completion)


# ---------------------------------------------------------------- suppression

def suppress(cells: dict[tuple[str, str], int], relations: list[tuple[tuple[str, str], list[tuple[str, str]]]],
             threshold: int = SMALL_CELL) -> set[tuple[str, str]]:
    """The cells to hide: every one below `threshold` (primary), and more (complementary) until no hidden
    cell can be worked out from the published ones through the relations (each total = the sum of its parts).

    A hidden cell is recoverable when its unit vector lies in the row space of the relations restricted to
    the hidden cells; while one is, another published cell of a relation it is in is hidden as well (a
    region's before a national one, the smallest first)."""
    hidden = {key for key, value in cells.items() if value < threshold}
    while True:
        exposed = _recoverable(hidden, relations)
        if not exposed:
            return hidden
        grew = False
        for key in sorted(exposed):
            candidates: list = []
            for total, parts in relations:
                members = [total, *parts]
                if key in members:
                    candidates += [m for m in members if m not in hidden]
            if candidates:
                # Regions' cells before national ones, the national headline last, the smallest first.
                hidden.add(min(candidates, key=lambda m: (m == (NATIONAL, ""), m[0] == NATIONAL, cells[m], m)))
                grew = True
                break
        if not grew:  # nothing left to hide beside it: hide the whole relation's cells
            for total, parts in relations:
                hidden.update([total, *parts])
            return hidden


def _recoverable(hidden: set, relations) -> set:
    """The hidden cells whose value every solution of the relations agrees on: those at which the null
    space of the relations (restricted to the hidden cells) vanishes. One SVD, whatever the number of cells."""
    import numpy as np

    unknown = sorted(hidden)
    index = {key: i for i, key in enumerate(unknown)}
    rows = []
    for total, parts in relations:
        row = np.zeros(len(unknown))
        for key, sign in [(total, 1.0), *[(p, -1.0) for p in parts]]:
            if key in index:
                row[index[key]] += sign
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    _, singular, vt = np.linalg.svd(np.array(rows))
    null_space = vt[int((singular > 1e-9).sum()):]
    if null_space.shape[0] == 0:
        return set(unknown)
    return {key for key, i in index.items() if np.abs(null_space[:, i]).max() <= 1e-9}


@lru_cache(maxsize=512)
def _suppressed(items: tuple) -> frozenset:
    # The same rollup gives the same cells: worked out once per process, not on every page view.
    cells = dict(items)
    return frozenset(suppress(cells, relations_of(cells)))


# ---------------------------------------------------------------- what is shown

@dataclass
class Cell:
    region: str
    breakdown: str
    numerator: int | None  # None: suppressed
    denominator: int | None
    percent: float | None
    suppressed: bool = False

    @property
    def iso(self) -> str:
        return ISO_CODES.get(self.region, NATIONAL_ISO)


@dataclass
class Figures:
    indicator: Indicator
    year: int
    target: int | None
    national: Cell | None
    regions: list[Cell]  # breakdown "": one per region that has a row
    breakdowns: list[Cell]  # national, per breakdown value
    by_region_breakdown: list[Cell]
    computed_at: datetime | None


@dataclass
class Dashboard:
    year: int
    indicators: list[Figures]
    population_source: list[tuple[str, date, int]]  # (source, date, year of the figures)
    computed_at: datetime | None
    missing: list[Indicator]


def dashboard(session: Session, year: int, public: bool = True) -> Dashboard:
    """Everything the page, the API and open data show for `year`: two queries, on the rollup only."""
    # Plain rows, not objects: the page reads a few hundred cells and changes none.
    rows = session.exec(select(IndicatorValue.indicator, IndicatorValue.region, IndicatorValue.breakdown,
                               IndicatorValue.numerator, IndicatorValue.denominator, IndicatorValue.computed_at)
                        .where(IndicatorValue.year == year)).all()
    sources = session.exec(select(PopulationFigure.source, PopulationFigure.source_date, PopulationFigure.year)
                           .where(PopulationFigure.year <= year).distinct()
                           .order_by(col(PopulationFigure.year).desc())).all()
    latest_year = sources[0][2] if sources else None
    by_indicator: dict[str, list] = {}
    for row in rows:
        by_indicator.setdefault(row.indicator, []).append(row)
    figures = [_figures(indicator, year, by_indicator.get(indicator.key, []), public)
               for indicator in INDICATORS if indicator.available]
    stamps = [row.computed_at for row in rows]
    return Dashboard(year, figures, [s for s in sources if s[2] == latest_year], max(stamps) if stamps else None,
                     [indicator for indicator in INDICATORS if not indicator.available])


def _figures(indicator: Indicator, year: int, rows: list, public: bool) -> Figures:
    values = {(row.region, row.breakdown): row for row in rows}
    hidden: set = set()
    if public and indicator.people:
        hidden = _suppressed(tuple(sorted((key, row.numerator) for key, row in values.items())))
    cells = {key: _cell(row, key in hidden) for key, row in values.items()}
    regions = [cells[(r, "")] for r in REGIONS if (r, "") in cells]
    breakdowns = sorted((c for (r, b), c in cells.items() if r == NATIONAL and b), key=lambda c: c.breakdown)
    both = sorted((c for (r, b), c in cells.items() if r != NATIONAL and b), key=lambda c: (c.region, c.breakdown))
    stamps = [row.computed_at for row in rows]
    return Figures(indicator, year, target_for(year) if indicator.targeted else None, cells.get((NATIONAL, "")),
                   regions, breakdowns, both, max(stamps) if stamps else None)


def relations_of(values: dict[tuple[str, str], object]) -> list:
    """The totals a reader could check: the national figure of each breakdown is the sum of the regions',
    and a region's total is the sum of its breakdowns (kinds, grades and agencies split it; courses and
    tournament stages have no regional total, since a person may complete several or take part in several)."""
    relations = []
    breakdowns = {b for _, b in values}
    for breakdown in breakdowns:
        parts = [(r, breakdown) for r in REGIONS if (r, breakdown) in values]
        if (NATIONAL, breakdown) in values and parts:
            relations.append(((NATIONAL, breakdown), parts))
    for region in (*REGIONS, NATIONAL):
        parts = [(region, b) for b in breakdowns if b and (region, b) in values]
        if (region, "") in values and parts:
            relations.append(((region, ""), parts))
    return relations


def _cell(row, hidden: bool) -> Cell:
    percent = round(100 * row.numerator / row.denominator, 1) if row.denominator else None
    if hidden:
        return Cell(row.region, row.breakdown, None, row.denominator, None, True)
    return Cell(row.region, row.breakdown, row.numerator, row.denominator, percent)


# ---------------------------------------------------------------- open data

OPEN_DATA_FIELDS = (
    ("indicator", N_("The indicator's key (see the list of indicators).")),
    ("year", N_("The year; the figures are cumulative to its end.")),
    ("region_iso", N_("ISO 3166-2:KZ code of the region or city; KZ for the whole country.")),
    ("region", N_("The platform's key of the region; empty for the whole country.")),
    ("breakdown", N_("Kind of institution, school grade, agency id, course, or tournament stage id and category id (\"12-3\"); empty for the total.")),
    ("numerator", N_("People (or institutions) counted; empty when suppressed.")),
    ("denominator", N_("What it is counted against: the official population, the institutions, the staff, the enrolments.")),
    ("percent", N_("Numerator over denominator, in per cent, one decimal; empty when suppressed or unknown.")),
    ("target_percent", N_("The target for the year, in per cent, where the indicator has one.")),
    ("suppressed", N_("1 when the count is hidden: fewer than 10 people, or a cell that would give one away.")),
    ("denominator_source", N_("The source of the official population figure and its date.")),
    ("computed_at", N_("When the figures were computed (UTC).")),
)


def open_data_rows(session: Session, years: list[int] | None = None) -> list[dict]:
    """Every published cell of the given years (default: all rolled up), suppression applied."""
    years = years or sorted(session.exec(select(IndicatorValue.year).distinct()).all())
    out = []
    for year in years:
        board = dashboard(session, year)
        source = "; ".join(f"{s} ({d.isoformat()})" for s, d, _ in board.population_source)
        for figures in board.indicators:
            cells = ([figures.national] if figures.national else []) + figures.regions + figures.breakdowns \
                + figures.by_region_breakdown
            for cell in cells:
                out.append({
                    "indicator": figures.indicator.key, "year": year, "region_iso": cell.iso, "region": cell.region,
                    "breakdown": cell.breakdown, "numerator": cell.numerator, "denominator": cell.denominator,
                    "percent": cell.percent, "target_percent": figures.target, "suppressed": int(cell.suppressed),
                    "denominator_source": source if figures.indicator.key == "ai_awareness" else "",
                    "computed_at": figures.computed_at.isoformat() if figures.computed_at else "",
                })
    return out


def open_data_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[name for name, _ in OPEN_DATA_FIELDS], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return buffer.getvalue()
