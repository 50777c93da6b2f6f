"""Small statements both SQLite and PostgreSQL understand, for idempotent batch writes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Connection, Date, DateTime, String, Table, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

#: Bound parameters per IN (...) list: well under SQLite's and PostgreSQL's limits.
IN_LIMIT = 900


def insert_ignore(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> int:
    """INSERT rows, skipping those whose unique `keys` already exist (ON CONFLICT DO
    NOTHING): the write a re-run or a concurrent worker repeats without doubling.

    Every row has the same columns. The statement is compiled once per table and columns,
    and the rows go to the driver's executemany with the columns' own SQLAlchemy bind
    conversions: intake writes several rows per notice, and SQLAlchemy's per-row parameter
    handling cost about five times the driver's time. Returns how many rows were new."""
    if not rows:
        return 0
    sql, order, converters = _compiled(connection.dialect, table, tuple(rows[0]), tuple(keys))
    # Only the columns with a conversion are touched per row; the others are picked by
    # itemgetter in C.
    converted = [(i, f) for i, f in enumerate(converters) if f is not _same]
    pick = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
    params: list[Any] = []
    for row in rows:
        values = list(pick(row))
        for i, convert in converted:
            values[i] = convert(values[i])
        params.append(tuple(values))
    if not connection.dialect.positional:
        params = [dict(zip(order, values, strict=True)) for values in params]
    return connection.exec_driver_sql(sql, params).rowcount


Converter = Callable[[Any], Any]


@lru_cache(maxsize=128)
def _compiled(dialect: Dialect, table: Table, columns: tuple[str, ...],
              keys: tuple[str, ...]) -> tuple[str, tuple[str, ...], tuple[Converter, ...]]:
    flavour = postgresql if dialect.name == "postgresql" else sqlite
    statement = flavour.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    order = tuple(compiled.positiontup or columns)
    return str(compiled), order, tuple(_converter(table.c[name], dialect) for name in order)


def _converter(column: Any, dialect: Dialect) -> Converter:
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return _same
    if isinstance(column.type, Date | DateTime):
        # A batch repeats few dates (due dates, `now`): format each once.
        return lru_cache(maxsize=4096)(lambda value: None if value is None else process(value))
    return lambda value: None if value is None else process(value)


def _same(value: Any) -> Any:
    return value


def in_groups(values: Iterable[Any], size: int = IN_LIMIT) -> Iterator[list[Any]]:
    """`values` in lists small enough for one IN (...) each."""
    iterator = iter(values)
    while group := list(islice(iterator, size)):
        yield group


def rows_where_in(connection: Connection, columns: Sequence[Any], key: Any,
                  values: Iterable[Any], *, lock: bool = False) -> list[list[Any]]:
    """Rows of `columns` (of one table) whose `key` is in `values`, straight from the
    driver's cursor: intake loads hundreds of thousands of task and notice rows of known
    cases, and SQLAlchemy's per-row Result machinery cost more than the query.

    `lock` also locks the rows for this transaction (PostgreSQL: FOR NO KEY UPDATE, in
    key order, so two transactions locking overlapping sets wait instead of deadlocking;
    foreign-key checks of other writers are not blocked). SQLite has one writer: no-op."""
    query, converters = raw_select(*columns)
    head = str(query.compile(dialect=connection.dialect))
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    tail = ""
    if lock and connection.dialect.name == "postgresql":
        values, tail = sorted(values), f" ORDER BY {key.name} FOR NO KEY UPDATE"
    cursor = connection.connection.cursor()
    rows: list[list[Any]] = []
    try:
        for group in in_groups(values):
            cursor.execute(
                f"{head} WHERE {key.name} IN ({', '.join([mark] * len(group))}){tail}", group)
            if all(convert is _same for convert in converters):
                rows.extend(list(row) for row in cursor.fetchall())
            else:
                rows.extend([convert(v) for convert, v in zip(converters, row, strict=True)]
                            for row in cursor.fetchall())
    finally:
        cursor.close()
    return rows


def raw_select(*columns: Any) -> tuple[Any, tuple[Converter, ...]]:
    """A SELECT of `columns` whose dates and times come back as the driver gives them
    (SQLite: ISO text; PostgreSQL: date objects), with the converters that finish them in C
    (`fromisoformat`). SQLAlchemy's own SQLite date parsing is a regular expression per
    value, the largest cost when intake loads the tasks of known cases."""
    selected, converters = [], []
    for column in columns:
        if isinstance(column.type, DateTime):
            selected.append(type_coerce(column, String).label(column.name))
            converters.append(_to_datetime)
        elif isinstance(column.type, Boolean):
            selected.append(column)
            converters.append(_to_bool)
        elif isinstance(column.type, Date):
            selected.append(type_coerce(column, String).label(column.name))
            converters.append(_to_date)
        else:
            selected.append(column)
            converters.append(_same)
    return select(*selected), tuple(converters)


def _to_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _to_date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _to_datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value
