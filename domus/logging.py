"""Domus's log lines: text for people, or JSON for a log collector (DOMUS_LOG_FORMAT=json):
one object a line with time, level, logger, message and the context fields a caller
passes with `extra=` (flow, batch, case_id…).

Log lines never carry personal data: name a case by its id, a batch by its number, and
count — never a tenant's name, address, phone, note or a docket number. Only the context
fields in CONTEXT_FIELDS are written, so a stray `extra={"tenant": …}` stays out of the log.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

#: the context fields a JSON line may carry (anything else passed with extra= is dropped)
CONTEXT_FIELDS = ("flow", "flow_run", "task", "batch", "case_id", "ocmw", "count",
                  "duration_ms", "status", "job")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the context
    fields that were given, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"DOMUS_LOG_FORMAT {log_format!r}: json or text")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when the line is written (a test runner or a
    daemon may swap it after the handler was made)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(log_format: str, *, level: int = logging.INFO,
                      stream: TextIO | None = None) -> logging.Handler:
    """Domus's handler on the root logger (replacing one set before, so calling it twice
    writes each line once), on stderr unless `stream` says otherwise."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "domus", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream) if stream else _Stderr()
    handler.setFormatter(formatter(log_format))
    handler.domus = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def configure_cli_logging() -> None:
    """The command line's log lines: warnings and errors only (commands print their
    results on stdout), in DOMUS_LOG_FORMAT. A setting that does not validate is left to
    the command to report, in one line, as it always does."""
    from pydantic import ValidationError

    from domus.settings import Settings

    try:
        log_format = Settings().log_format
    except ValidationError:
        log_format = "text"
    configure_logging(log_format, level=logging.WARNING)
    _first_line_of_prefect_errors()


def _first_line_of_prefect_errors() -> None:
    """On the command line, Prefect's report of a failed task or flow run keeps its first
    line: the command says what failed in one line of its own (a full disk, a database
    that went away), and pages of engine traceback would bury it. Done where records are
    made, because Prefect installs its own console handlers when it is first imported."""
    make = logging.getLogRecordFactory()
    if getattr(make, "domus", False):
        return

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = make(*args, **kwargs)
        if made.name.startswith("prefect") and made.levelno >= logging.ERROR:
            lines = made.getMessage().strip().splitlines()
            made.msg, made.args = (lines[0] if lines else ""), ()
            made.exc_info, made.exc_text = None, None
        return made

    record.domus = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record)
