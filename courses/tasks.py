"""Background jobs of the course engine."""
from __future__ import annotations

from celery import shared_task

from gennation.courses.service import load_courses
from gennation.courses.source import read_all
from gennation.platform.worker import RETRY, settings_of, task_unit_of_work


@shared_task(bind=True, name="courses.reload", **RETRY)
def reload_courses(self) -> dict:
    """Re-import the course sources (for example after a content deploy) without blocking a web request.

    Returns {course: outcome}, or {"errors": [...]} and loads nothing when a source is invalid.
    """
    settings = settings_of(self)
    courses, _glossary, errors = read_all(settings.content_dir)
    if errors:
        return {"errors": [str(e) for e in errors[:50]]}
    with task_unit_of_work(settings) as session:
        return load_courses(session, courses)
