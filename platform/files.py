"""Files the platform keeps under var/ (certificate PDFs, tournament data and entries), and the one check
every uploaded file passes before anything reads it.

`read_upload` is called by each route that takes a file, before any parsing: the declared size first (the
part's size as the form parser counted it; the whole body is already capped by MAX_BODY_BYTES), then a
read of at most the limit, then the type: its extension, and its bytes (a CSV or YAML file is text, UTF-8
or Windows-1251, with no NUL or other control bytes; a file of another kind starts with its magic bytes).
A refused file is kept with its reason where that kind of upload keeps refused files, for whoever looks
into a complaint; a file refused for its size is not read, so only its name, size and the reason are kept.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from gennation.platform.errors import DomainError, InvalidField
from gennation.platform.i18n import N_


def write_atomically(path: Path, data: bytes) -> None:
    """Written under another name and moved into place: a reader never sees half a file, and two
    writers of the same bytes leave one whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as part:
        part.write(data)
    os.replace(part.name, path)


# ---------------------------------------------------------------- uploads

MB = 1024 * 1024
# The largest file each kind of upload takes (the request body is also capped by MAX_BODY_BYTES).
LIMITS = {
    "directory": 20 * MB,  # the directory of institutions: up to 50,000 rows
    "roster": 1 * MB,  # a class list
    "staff": 5 * MB,  # an agency's staff list
    "population": 1 * MB,  # official population per region and year
    "task_data": 50 * MB,  # a tournament task's training and test data, and its hidden labels
    "question_bank": 2 * MB,  # a tournament quiz's question bank (YAML)
}


@dataclass(frozen=True)
class Kind:
    label: str
    extensions: tuple[str, ...]
    text: bool = True  # else: `magic` says how its bytes start
    magic: tuple[bytes, ...] = ()


CSV = Kind("CSV", (".csv", ".txt", ".tsv"))
YAML = Kind("YAML", (".yaml", ".yml"))
PNG = Kind("PNG", (".png",), text=False, magic=(b"\x89PNG\r\n\x1a\n",))
JPEG = Kind("JPEG", (".jpg", ".jpeg"), text=False, magic=(b"\xff\xd8\xff",))
ZIP = Kind("ZIP", (".zip",), text=False, magic=(b"PK\x03\x04", b"PK\x05\x06"))

# What a file that is not text usually is, by its first bytes: named in the refusal, since the usual
# mistake is a workbook sent instead of the CSV saved from it.
_SIGNATURES = (
    (b"PK\x03\x04", "Excel (.xlsx) / ZIP"), (b"\xd0\xcf\x11\xe0", "Excel 97-2003 (.xls)"), (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"\x1f\x8b", "gzip"), (b"Rar!", "RAR"),
    (b"7z\xbc\xaf", "7-Zip"), (b"{\\rtf", "RTF"),
)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f]")  # NUL and the control bytes no CSV or YAML holds


class TooLarge(DomainError):
    status = 413
    message = N_("The file «%(name)s» is too large: at most %(limit)s MB.")


class TooLargeKB(TooLarge):
    message = N_("The file «%(name)s» is too large: at most %(limit)s KB.")


def _too_large(name: str, limit: int) -> TooLarge:
    if limit >= MB:
        return TooLarge(name=name, limit=f"{limit / MB:g}")
    return TooLargeKB(name=name, limit=max(1, limit // 1024))


def _is_text(data: bytes) -> bool:
    if _CONTROL.search(data):
        return False
    for encoding in ("utf-8-sig", "cp1251"):  # what spreadsheets here save (cp1251 has no byte 0x98)
        try:
            data.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False


def sniff(data: bytes, kind: Kind, field: str = "file") -> InvalidField | None:
    """Why `data` is not a file of `kind` (an error to raise), or None."""
    head = data[:16]
    if kind.text:
        found = next((name for magic, name in _SIGNATURES if head.startswith(magic)), None)
        if found:
            return InvalidField(field, N_("This is a %(found)s file, not %(kind)s. Save it as %(kind)s and upload it again."),
                                found=found, kind=kind.label)
        if not _is_text(data):
            return InvalidField(field, N_("This is not a %(kind)s file: it holds bytes that a text file never has. "
                                          "Save it as %(kind)s (UTF-8) and upload it again."), kind=kind.label)
        return None
    if not any(head.startswith(magic) for magic in kind.magic):
        return InvalidField(field, N_("This is not a %(kind)s file."), kind=kind.label)
    return None


def _keep_refused(refused: Path | None, name: str, size: int | None, data: bytes | None, error: DomainError) -> None:
    """Beside the kept uploads of its kind: the bytes read (none when refused for its size) and a
    `.refused.tsv` with the reason, in the same form as a refused file's row errors."""
    if refused is None:
        return
    refused.mkdir(parents=True, exist_ok=True)
    stem = hashlib.sha256(data).hexdigest()[:32] if data is not None else uuid.uuid4().hex
    if data is not None:
        (refused / f"{stem}.refused").write_bytes(data)
    reason = error.message % error.values if error.values else error.message
    name = " ".join(name.split())[:300]
    (refused / f"{stem}.refused.tsv").write_text(
        f"line\tcolumn\treason\n0\t{getattr(error, 'field', '') or 'file'}\t{reason} [{name}, {size} bytes]\n",
        encoding="utf-8")


def read_upload(upload, kind: Kind, limit: str | int, *, field: str = "file", refused: Path | None = None) -> bytes:
    """The bytes of an uploaded file (a Starlette UploadFile) once its size and type are checked; else
    TooLarge (413) or InvalidField (422) naming `field`, the file kept in `refused` with the reason.
    `limit`: bytes, or the name of one of LIMITS."""
    limit = LIMITS[limit] if isinstance(limit, str) else limit
    name = upload.filename or ""
    declared = upload.size
    if declared is None:
        length = (upload.headers or {}).get("content-length", "")
        declared = int(length) if length.isdigit() else None
    if declared is not None and declared > limit:
        error = _too_large(name, limit)
        _keep_refused(refused, name, declared, None, error)
        raise error
    upload.file.seek(0)
    data = upload.file.read(limit + 1)  # a part that was not counted is still never read past the limit
    if len(data) > limit:
        error = _too_large(name, limit)
        _keep_refused(refused, name, declared, None, error)
        raise error
    problem = None
    if not name.lower().endswith(kind.extensions):
        problem = InvalidField(field, N_("Choose a %(kind)s file (%(extensions)s)."), kind=kind.label,
                               extensions=", ".join(kind.extensions))
    problem = problem or sniff(data, kind, field)
    if problem is not None:
        _keep_refused(refused, name, len(data), data, problem)
        raise problem
    return data
