"""`gennation backup FILE` and `gennation restore FILE`: the whole database in one file.

PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean --if-exists --single-transaction` (a
restore that fails changes nothing). SQLite (the embedded mode): SQLite's online backup API, both ways,
so a backup can be taken while the platform runs. Stop the web processes and workers before a restore.

Files under VAR_DIR (certificate PDFs, tournament uploads, the secret and badge signing keys) are not in
the database: copy that directory as well.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
LOCK_TIMEOUT = "30s"


class BackupError(Exception):
    """One line for the operator."""


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _pg_command(url: str) -> tuple[str, dict]:
    """The libpq address (without the password, which goes in PGPASSWORD) and the environment."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _run(command: list[str], env: dict) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {(done.stderr or done.stdout).strip()[-2000:]}")


def backup(url: str, file: Path) -> str:
    """Write the whole database to `file` (replaced only once the backup is complete)."""
    file = Path(file)
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)
    if url.startswith("sqlite"):
        source_path = _sqlite_path(url)
        if not source_path.is_file():
            raise BackupError(f"no database at {source_path}")
        source = sqlite3.connect(source_path)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # a consistent copy, page by page, while others may write
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            target.close()
            source.close()
        kind = "SQLite"
    else:
        address, env = _pg_command(url)
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}",
              f"--dbname={address}"], env)
        kind = "PostgreSQL (pg_dump custom format)"
    os.replace(partial, file)
    return f"{kind} backup written to {file} ({file.stat().st_size:,} bytes)"


def restore(url: str, file: Path) -> str:
    """Replace the whole database with the one in `file`."""
    file = Path(file)
    if not file.is_file():
        raise BackupError(f"no such file: {file}")
    with file.open("rb") as handle:
        head = handle.read(16)
    if url.startswith("sqlite"):
        if head != SQLITE_MAGIC:
            raise BackupError(f"{file} is not an SQLite backup (DATABASE_URL is SQLite)")
        target_path = _sqlite_path(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        target = sqlite3.connect(target_path, timeout=30)
        try:
            integrity = source.execute("PRAGMA integrity_check").fetchone()[0]
            if integrity != "ok":
                raise BackupError(f"{file} is damaged: {integrity}")
            source.backup(target)  # every page replaced in one step: the old content is gone, schema too
        finally:
            target.close()
            source.close()
        return f"SQLite database {target_path} restored from {file}"
    if not head.startswith(PG_MAGIC):
        raise BackupError(f"{file} is not a pg_dump custom-format backup (DATABASE_URL is PostgreSQL)")
    address, env = _pg_command(url)
    # A table still in use (a web process or worker left running) fails the restore, rolled back, instead
    # of waiting for ever.
    env.setdefault("PGOPTIONS", f"-c lock_timeout={LOCK_TIMEOUT}")
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", f"--dbname={address}", str(file)], env)
    return f"PostgreSQL database restored from {file}"
