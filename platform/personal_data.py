"""One registry of where a person's data is kept, for "download my data".

Every table that holds data about a person registers here, next to its model, with the query that
finds one person's rows. The export walks the registry; a test walks the schema and fails when a
table that refers to a person is missing from it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlmodel import Session, SQLModel, select


@dataclass(frozen=True)
class Holding:
    name: str  # the key in the export
    model: type[SQLModel]
    rows: Callable[[int], Select]  # user id -> the query of that person's rows
    dump: Callable[[Any], dict]
    single: bool  # one row (the profile), exported as an object rather than a list


_holdings: dict[str, Holding] = {}


def _dump(row: SQLModel) -> dict:
    return row.model_dump(mode="json")


def holds(name: str, model: type[SQLModel], owner: Any = None, *, rows: Callable[[int], Select] | None = None,
          dump: Callable[[Any], dict] = _dump, single: bool = False) -> None:
    """Register `model` as holding personal data: the rows whose `owner` column is the person's id,
    or the rows a custom `rows(user_id)` query finds (for tables that reach the person through another)."""
    if rows is None:
        rows = lambda user_id: select(model).where(owner == user_id).order_by(model.id)  # noqa: E731
    _holdings[name] = Holding(name, model, rows, dump, single)


def holdings() -> list[Holding]:
    from gennation.platform import tables  # noqa: F401 - every domain's models register on import
    return list(_holdings.values())


def export(session: Session, user_id: int) -> dict[str, Any]:
    """Everything the platform keeps about one person, by kind."""
    result: dict[str, Any] = {}
    for holding in holdings():
        dumped = [holding.dump(row) for row in session.exec(holding.rows(user_id))]
        result[holding.name] = (dumped[0] if dumped else None) if holding.single else dumped
    return result
