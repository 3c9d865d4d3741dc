"""The directory of institutions, imported by admins from a CSV file, and the courses each adopted.

A file is checked as a whole first (a dry run): every bad row is reported with its line, column and
reason, and nothing is imported until the file is clean. Importing the same file again changes
nothing: a row is the same institution when its BIN matches, or (without a BIN) its kind, region and
Kazakh name do.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

from airlock_pii.validators import is_valid_bin
from sqlmodel import Session, col, func, select

from gennation.courses.outline import catalogue
from gennation.platform.accounts.models import REGIONS, Role, User
from gennation.platform.audit import service as audit
from gennation.platform.database import utcnow
from gennation.platform.errors import InvalidField, NotFound
from gennation.platform.i18n import N_
from gennation.platform.institutions.models import Adoption, Institution, InstitutionKind
from gennation.platform.institutions.service import coordinated

COLUMNS = ("kind", "region", "name_kk", "name_ru", "bin")
REQUIRED = ("kind", "region", "name_kk", "name_ru")
MAX_NAME = 200
MAX_ROWS = 50_000


@dataclass(frozen=True)
class RowError:
    line: int  # 1 is the header
    column: str
    message: str  # a message id, translated where it is shown
    values: dict = field(default_factory=dict)


@dataclass
class Checked:
    """What a dry run found: the rows ready to import, or the reasons the file cannot be."""

    encoding: str = ""
    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.errors and bool(self.rows)


@dataclass
class Imported:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def keep(uploads: Path, data: bytes) -> str:
    """Keep an uploaded file under its content hash (an admin confirms the import of exactly this file)."""
    uploads.mkdir(parents=True, exist_ok=True)
    upload = hashlib.sha256(data).hexdigest()[:32]
    (uploads / f"{upload}.csv").write_bytes(data)
    return upload


def kept(uploads: Path, upload: str) -> bytes | None:
    path = uploads / f"{upload}.csv"
    return path.read_bytes() if re.fullmatch(r"[0-9a-f]{32}", upload) and path.is_file() else None


def keep_reasons(uploads: Path, upload: str, checked) -> None:
    """A refused file stays, with the reasons beside it, for whoever prepares the next one."""
    lines = [f"{e.line}\t{e.column}\t{e.message % e.values if e.values else e.message}" for e in checked.errors]
    (uploads / f"{upload}.refused.tsv").write_text("line\tcolumn\treason\n" + "\n".join(lines) + "\n", encoding="utf-8")


def check_and_keep(uploads: Path, data: bytes, check: Callable[[bytes], Any]) -> tuple[Any, str]:
    """Check an uploaded file (`check` returns something with `errors` and `clean`), then keep it under its
    hash, with the reasons beside it when it is refused: (what the check found, the kept upload's name)."""
    checked = check(data)  # first: a check may refuse the person (NotFound), and then nothing is kept
    upload = keep(uploads, data)
    if not checked.clean:
        keep_reasons(uploads, upload, checked)
    return checked, upload


def _decode(data: bytes) -> tuple[str, str] | None:
    # Spreadsheets here save UTF-8 (often with a BOM) or Windows-1251 (which has no Kazakh letters).
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None


def read_text(data: bytes) -> tuple[str, str, str] | RowError:
    """An uploaded CSV file's text, encoding and delimiter (the header's most frequent of ";", ",", tab:
    Excel here writes ";"), or the reason it is not a CSV text file."""
    decoded = _decode(data)
    if decoded is None:
        return RowError(1, "", N_("The file is neither UTF-8 nor Windows-1251 text."))
    text, encoding = decoded
    if "\x00" in text:
        return RowError(1, "", N_("The file is not a CSV text file."))
    header_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=header_line.count) if any(d in header_line for d in ";,\t") else ","
    return text, encoding, delimiter


def check(session: Session, data: bytes) -> Checked:
    """A dry run of a directory file: reads and checks every row, writes nothing."""
    checked = Checked()
    read = read_text(data)
    if isinstance(read, RowError):
        checked.errors.append(read)
        return checked
    text, checked.encoding, delimiter = read
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        checked.errors.append(RowError(1, ", ".join(missing), N_("The header lacks these columns: %(columns)s."),
                                       {"columns": ", ".join(missing)}))
        return checked
    reader.fieldnames = header
    seen: dict[tuple, int] = {}
    for line, raw in enumerate(reader, start=2):
        if line > MAX_ROWS + 1:
            checked.errors.append(RowError(line, "", N_("A file may hold at most %(rows)s rows."), {"rows": MAX_ROWS}))
            break
        row = {name: (raw.get(name) or "").strip() for name in COLUMNS}
        if not any(row.values()):
            continue  # an empty line
        errors = _row_errors(line, row)
        identity = ("bin", row["bin"]) if row["bin"] else ("name", row["kind"], row["region"], row["name_kk"].casefold())
        if identity in seen:
            errors.append(RowError(line, "bin" if row["bin"] else "name_kk",
                                   N_("The same institution is already on line %(line)s."), {"line": seen[identity]}))
        seen.setdefault(identity, line)
        checked.errors += errors
        if not errors:
            checked.rows.append(row)
    if not checked.rows and not checked.errors:
        checked.errors.append(RowError(2, "", N_("The file has no rows.")))
    return checked


def _row_errors(line: int, row: dict) -> list[RowError]:
    errors = []
    if row["kind"] not in InstitutionKind.__members__:
        errors.append(RowError(line, "kind", N_("Unknown kind «%(value)s»; use one of: %(choices)s."),
                               {"value": row["kind"], "choices": ", ".join(InstitutionKind.__members__)}))
    if row["region"] not in REGIONS:
        errors.append(RowError(line, "region", N_("Unknown region code «%(value)s»."), {"value": row["region"]}))
    for name in ("name_kk", "name_ru"):
        if not row[name]:
            errors.append(RowError(line, name, N_("The name is empty.")))
        elif len(row[name]) > MAX_NAME:
            errors.append(RowError(line, name, N_("The name is longer than %(limit)s characters."), {"limit": MAX_NAME}))
    if row["bin"] and not is_valid_bin(row["bin"]):
        errors.append(RowError(line, "bin", N_("«%(value)s» is not a valid BIN (12 digits with a check digit)."),
                               {"value": row["bin"]}))
    return errors


def _existing(session: Session, rows: list[dict]) -> tuple[dict[str, Institution], dict[tuple, Institution]]:
    bins = [row["bin"] for row in rows if row["bin"]]
    by_bin = {i.official_id: i for i in session.exec(select(Institution).where(col(Institution.official_id).in_(bins)))} \
        if bins else {}
    names = {row["name_kk"] for row in rows if not row["bin"]}
    by_name = {(i.kind.value, i.region, i.name.casefold()): i for i in session.exec(
        select(Institution).where(col(Institution.name).in_(names)))} if names else {}
    return by_bin, by_name


def counts_by_kind(session: Session) -> list[tuple[str, int]]:
    rows = session.exec(select(Institution.kind, func.count()).group_by(Institution.kind).order_by(Institution.kind))
    return [(kind.value, count) for kind, count in rows]


def search(session: Session, text: str, limit: int = 20) -> list[Institution]:
    """Institutions whose Kazakh or Russian name contains `text`, whatever its case, shortest first."""
    text = text.strip().casefold().replace("%", "").replace("_", "")
    if len(text) < 2:
        return []
    return list(session.exec(select(Institution).where(col(Institution.search_key).contains(text))
                             .order_by(func.length(Institution.name), Institution.name).limit(limit)))


def import_rows(session: Session, checked: Checked, by: User | None = None) -> Imported:
    """Write a clean dry run's rows: new institutions are added, changed ones updated, the rest left.
    `by`: the admin who imports (None: an operator at the command line)."""
    if not checked.clean:
        raise ValueError("only a clean dry run can be imported")
    by_bin, by_name = _existing(session, checked.rows)
    result = Imported()
    for row in checked.rows:
        found = by_bin.get(row["bin"]) if row["bin"] else by_name.get((row["kind"], row["region"], row["name_kk"].casefold()))
        values = {"kind": InstitutionKind(row["kind"]), "region": row["region"], "name": row["name_kk"],
                  "name_ru": row["name_ru"], "official_id": row["bin"] or None}
        if found is None:
            session.add(Institution(**values))
            result.created += 1
        elif any(getattr(found, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(found, key, value)
            session.add(found)
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    if result.created or result.updated:
        audit.record(session, by, "institutions.imported", object_type="directory",
                     detail={"created": result.created, "updated": result.updated, "unchanged": result.unchanged})
    return result


# ---------------------------------------------------------------- courses adopted into programmes

def record_adoption(session: Session, by: User, institution_id: int, course_slug: str, programme: str,
                    since: date, today: date | None = None) -> Adoption:
    """`by` (an admin, or a coordinator of the institution) records that it teaches a course in a
    programme or discipline since a date. Recording the same adoption again only corrects its date."""
    institution = session.get(Institution, institution_id)
    if institution is None or (by.role != Role.admin and institution_id not in {i.id for i in coordinated(session, by)}):
        raise NotFound
    try:
        catalogue(session).course(course_slug)
    except NotFound:
        raise InvalidField("course", N_("There is no such course.")) from None
    programme = programme.strip()
    if not programme or len(programme) > MAX_NAME:
        raise InvalidField("programme", N_("Name the programme or discipline (up to 200 characters)."))
    if since > (today or utcnow().date()):
        raise InvalidField("since", N_("The date is in the future."))
    adoption = session.exec(select(Adoption).where(Adoption.institution_id == institution_id,
                                                   Adoption.course_slug == course_slug,
                                                   Adoption.programme == programme)).first()
    if adoption is None:
        adoption = Adoption(institution_id=institution_id, course_slug=course_slug, programme=programme, since=since)
    adoption.since, adoption.recorded_by, adoption.recorded_at = since, by.id, utcnow()
    session.add(adoption)
    session.flush()
    audit.record(session, by, "institution.adoption_recorded", object_type="adoption", object_id=adoption.id,
                 grant=audit.grant_of(by, institution_id),
                 detail={"institution": institution_id, "course": course_slug, "programme": programme, "since": since})
    return adoption


def adoptions_of(session: Session, institution_id: int) -> list[Adoption]:
    return list(session.exec(select(Adoption).where(Adoption.institution_id == institution_id)
                             .order_by(Adoption.since, Adoption.course_slug)))


# The institutions the indicator "share of universities and colleges with AI programmes" is about.
HIGHER_AND_VOCATIONAL = (InstitutionKind.university, InstitutionKind.college)


def adoption_share(session: Session, year: int, kinds=HIGHER_AND_VOCATIONAL, region: str | None = None) -> tuple[int, int]:
    """(institutions with a course adopted by the end of `year`, all institutions), of these kinds and
    optionally one region: two queries, whatever the size of the directory."""
    scope = [col(Institution.kind).in_(kinds)] + ([Institution.region == region] if region else [])
    total = session.exec(select(func.count()).select_from(Institution).where(*scope)).one()
    adopting = session.exec(select(func.count(func.distinct(Adoption.institution_id))).join(Institution)
                            .where(*scope, Adoption.since <= date(year, 12, 31))).one()
    return adopting, total
