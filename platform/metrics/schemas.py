from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class CellOut(BaseModel):
    region: str = Field(description="The platform's key of the region; empty for the whole country")
    region_iso: str = Field(description="ISO 3166-2:KZ code; KZ for the whole country", examples=["KZ-10"])
    breakdown: str = ""
    numerator: int | None = Field(description="People or institutions counted; null when suppressed")
    denominator: int | None
    percent: float | None
    suppressed: bool = False


class DenominatorSourceOut(BaseModel):
    source: str
    date: date
    year: int = Field(description="The year of the official figures used")


class IndicatorOut(BaseModel):
    key: str
    title: str
    description: str
    unit: str = Field(description="percent or count")
    year: int
    target_percent: int | None = Field(description="The target for the year, where the indicator has one")
    national: CellOut | None
    regions: list[CellOut]
    breakdowns: list[CellOut] = Field(description="National figure of each breakdown (kind, grade, agency, course)")
    by_region_and_breakdown: list[CellOut]
    denominator_sources: list[DenominatorSourceOut]
    computed_at: datetime | None


class NotMeasuredOut(BaseModel):
    key: str
    title: str
    reason: str


class IndicatorsOut(BaseModel):
    year: int
    computed_at: datetime | None = Field(description="When the rollup was last updated")
    small_cell: int = Field(description="No count of fewer people is published")
    indicators: list[IndicatorOut]
    not_measured: list[NotMeasuredOut]


class PopulationIn(BaseModel):
    csv: str = Field(max_length=500_000, description="columns year, region, population, source, source_date")
    dry_run: bool = False


class PopulationRowError(BaseModel):
    line: int
    column: str
    message: str


class PopulationOut(BaseModel):
    loaded: int
    dry_run: bool
    errors: list[PopulationRowError]
