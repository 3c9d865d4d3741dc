"""National indicators: the official population loaded by admins, and the rollups the dashboard reads.

Pages, the API and open data read only `IndicatorValue` rows (a few hundred), never the learners' rows:
the rollup (`service.roll_up`, a Celery beat job) and the completion event keep them current."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from gennation.platform import personal_data
from gennation.platform.database import utcnow


class PopulationFigure(SQLModel, table=True):
    """The official population of one region in one year: the denominator of "population aware of AI"."""

    __table_args__ = (UniqueConstraint("year", "region"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int
    region: str = Field(max_length=40)
    population: int
    source: str = Field(max_length=300)  # who published the figure, e.g. the Bureau of National Statistics
    source_date: date  # the date of that publication
    loaded_at: datetime = Field(default_factory=utcnow)
    loaded_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)


class IndicatorValue(SQLModel, table=True):
    """One cell of a rollup: an indicator in a year, for a region ("" for the whole country) and a
    breakdown ("" for none; else a kind of institution, a grade, an agency id or a course slug).
    Cumulative to the end of `year`."""

    __table_args__ = (UniqueConstraint("indicator", "year", "region", "breakdown"),)
    id: int | None = Field(default=None, primary_key=True)
    indicator: str = Field(max_length=40)
    year: int
    region: str = Field(default="", max_length=40)
    breakdown: str = Field(default="", max_length=60)
    numerator: int = 0
    denominator: int | None = None  # None: no official figure loaded for it
    computed_at: datetime = Field(default_factory=utcnow)


personal_data.holds("population_figures_loaded", PopulationFigure, PopulationFigure.loaded_by)
