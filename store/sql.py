"""Small statements both SQLite and PostgreSQL understand, for idempotent batch writes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

#: Bound parameters per IN (...) list: well under SQLite's and PostgreSQL's limits.
IN_LIMIT = 900


def insert_ignore(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """INSERT rows, skipping those whose unique `keys` already exist (ON CONFLICT DO
    NOTHING): the write a re-run or a concurrent worker repeats without doubling."""
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    connection.execute(statement, list(rows))


def in_groups(values: Iterable[Any], size: int = IN_LIMIT) -> Iterator[list[Any]]:
    """`values` in lists small enough for one IN (...) each."""
    iterator = iter(values)
    while group := list(islice(iterator, size)):
        yield group
