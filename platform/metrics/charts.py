"""What the dashboard draws: the map's colours and legend, and the geometry of each bar chart.

Pure functions of the rollup's figures; the templates write the SVG, so every label is translated there."""
from __future__ import annotations

from dataclasses import dataclass

from gennation.platform.i18n import N_
from gennation.platform.metrics.regions import CITIES, map_shapes
from gennation.platform.metrics.service import Cell, Figures

# A sequential blue scale (ColorBrewer "Blues"), from far below the target to reaching it.
STEPS = (
    (0.25, "#c6dbef", N_("below a quarter of the target")),
    (0.5, "#9ecae1", N_("a quarter to half of the target")),
    (0.75, "#4292c6", N_("half to three quarters of the target")),
    (1.0, "#2171b5", N_("three quarters of the target to the target")),
    (float("inf"), "#08306b", N_("the target reached")),
)
NO_DATA = ("url(#no-figure)", N_("no figure (no population loaded, or fewer than 10 people)"))


@dataclass(frozen=True)
class MapUnit:
    region: str
    path: str
    colour: str
    cell: Cell | None
    dot: tuple[float, float] | None  # a city too small to see: a dot at its place


def colour_of(percent: float | None, target: int | None) -> str:
    if percent is None or not target:
        return NO_DATA[0]
    share = percent / target
    return next(colour for limit, colour, _ in STEPS if share < limit)


def map_units(figures: Figures) -> tuple[int, int, list[MapUnit]]:
    shapes = map_shapes()
    cells = {cell.region: cell for cell in figures.regions}
    units = [MapUnit(region, path, colour_of(cells[region].percent if region in cells else None, figures.target),
                     cells.get(region), shapes.centres[region] if region in CITIES else None)
             for region, path in shapes.paths.items()]
    return shapes.width, shapes.height, units


@dataclass(frozen=True)
class Bar:
    label: str  # a message id or a plain label (a course slug, a grade)
    cell: Cell
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_width: int
    bars: list[Bar]
    target_x: float | None
    scale_max: float
    percent: bool


BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, CHART_WIDTH = 16, 6, 170, 410


def bar_chart(labelled: list[tuple[str, Cell]], target: float | None, percent: bool) -> BarChart:
    """Horizontal bars, one a row, scaled to the largest value or the target, whichever is more."""
    values = [(cell.percent if percent else cell.numerator) or 0 for _, cell in labelled]
    top = max([*values, target or 0, 1])
    scale_max = top * 1.1
    room = CHART_WIDTH - LABEL_WIDTH - 60  # the value is written after the bar
    bars = [Bar(label, cell, i * (BAR_HEIGHT + BAR_GAP) + 8, round(room * value / scale_max, 1))
            for i, ((label, cell), value) in enumerate(zip(labelled, values))]
    height = len(bars) * (BAR_HEIGHT + BAR_GAP) + 16
    target_x = LABEL_WIDTH + round(room * target / scale_max, 1) if target else None
    return BarChart(CHART_WIDTH, height, LABEL_WIDTH, bars, target_x, scale_max, percent)
