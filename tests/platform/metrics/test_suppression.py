"""Small-cell suppression: every count below 10 is hidden, and enough others that none can be worked out."""
import random

from gennation.platform.metrics.service import SMALL_CELL, relations_of, suppress
from tests.platform.metrics.test_indicators import assert_no_hidden_cell_recoverable

REGIONS = ("astana", "abai", "ulytau", "jetisu")


def test_one_small_region_hides_a_second_so_the_national_total_gives_neither_away():
    cells = {("", ""): 100, ("astana", ""): 50, ("abai", ""): 42, ("ulytau", ""): 8}
    hidden = suppress(cells, relations_of(cells))
    assert hidden == {("ulytau", ""), ("abai", "")}  # the smallest other part, not the national total
    assert_no_hidden_cell_recoverable({k: None if k in hidden else v for k, v in cells.items()})


def test_a_table_by_region_and_kind_hides_along_rows_and_columns():
    cells = {}
    values = {("astana", "a"): 30, ("astana", "b"): 4, ("abai", "a"): 25, ("abai", "b"): 40}
    cells.update(values)
    for r in ("astana", "abai"):
        cells[(r, "")] = values[(r, "a")] + values[(r, "b")]
    for b in ("a", "b"):
        cells[("", b)] = values[("astana", b)] + values[("abai", b)]
    cells[("", "")] = sum(values.values())
    hidden = suppress(cells, relations_of(cells))
    assert ("astana", "b") in hidden and len(hidden) >= 4  # a 2×2 block at least
    assert_no_hidden_cell_recoverable({k: None if k in hidden else v for k, v in cells.items()})


def test_random_tables_never_publish_a_small_cell_nor_one_that_can_be_recomputed():
    rng = random.Random(11)
    for _ in range(60):
        kinds = [str(k) for k in range(rng.randint(1, 4))]
        values = {(r, k): rng.choice([0, 1, 3, 9, 10, 12, 25, 80, 300]) for r in REGIONS for k in kinds}
        cells = dict(values)
        for r in REGIONS:
            cells[(r, "")] = sum(values[(r, k)] for k in kinds)
        for k in kinds:
            cells[("", k)] = sum(values[(r, k)] for r in REGIONS)
        cells[("", "")] = sum(values.values())
        hidden = suppress(cells, relations_of(cells))
        assert all(key in hidden for key, value in cells.items() if value < SMALL_CELL)
        assert_no_hidden_cell_recoverable({k: None if k in hidden else v for k, v in cells.items()})
