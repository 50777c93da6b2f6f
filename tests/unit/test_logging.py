"""Structured logs (DOMUS_LOG_FORMAT): one JSON object a line with time, level, logger,
message and the allowed context fields, or plain text; the command line and `domus serve`'s
scheduler jobs write through the same handler."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from domus.cli import cli
from domus.logging import JsonFormatter, configure_logging
from domus.serve import _job
from domus.settings import Settings


@pytest.fixture(autouse=True)
def root_logger() -> Iterator[logging.Logger]:
    """Leave the root logger as it was found."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_message_and_the_allowed_context() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    logging.getLogger("domus.intake").info(
        "batch %s: %d notices", 12, 300,
        extra={"flow": "intake", "batch": 12, "case_id": "6082ab53b579771f", "count": 300,
               "tenant": "Amina El Idrissi", "note": "owes rent"})
    [line] = lines(stream)
    assert line.pop("time").endswith("+00:00")
    assert line == {"level": "INFO", "logger": "domus.intake", "message": "batch 12: 300 notices",
                    "flow": "intake", "batch": 12, "case_id": "6082ab53b579771f", "count": 300}
    assert "Amina" not in stream.getvalue() and "owes rent" not in stream.getvalue()


def test_an_exception_stays_inside_its_one_json_line() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    try:
        raise RuntimeError("database unreachable")
    except RuntimeError:
        logging.getLogger("domus.scheduler").exception("sweep failed")
    assert len(stream.getvalue().splitlines()) == 1
    [line] = lines(stream)
    assert line["level"] == "ERROR" and "RuntimeError: database unreachable" in line["exception"]


def test_text_is_the_default_and_configuring_twice_writes_each_line_once() -> None:
    assert Settings().log_format == "text"
    stream = io.StringIO()
    configure_logging("text", stream=stream)
    configure_logging(Settings().log_format, stream=stream)
    logging.getLogger("domus.x").warning("once")
    assert stream.getvalue().count("once") == 1
    assert " WARNING domus.x once" in stream.getvalue()
    assert not stream.getvalue().startswith("{")


def test_an_unknown_log_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMUS_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError, match="log_format"):
        Settings()
    with pytest.raises(ValueError, match="json or text"):
        configure_logging("xml")


def test_the_command_line_logs_warnings_as_json_on_stderr(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DOMUS_LOG_FORMAT", "json")
    result = CliRunner().invoke(cli, ["schema", "notice"])
    assert result.exit_code == 0 and json.loads(result.stdout)  # stdout stays the document
    capsys.readouterr()
    logging.getLogger("domus.watch").info("not shown: the command line logs warnings only")
    logging.getLogger("domus.watch").warning("file left in processing/", extra={"count": 2})
    [line] = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    assert (line["logger"], line["message"], line["count"]) == (
        "domus.watch", "file left in processing/", 2)


def test_the_scheduler_jobs_of_serve_log_their_report_in_the_chosen_format(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMUS_LOG_FORMAT", "json")
    settings = Settings()
    stream = io.StringIO()
    configure_logging(settings.log_format, stream=stream)

    def sweep(settings: Settings, *, now: datetime) -> dict[str, int]:
        return {"notifications": 3}

    def broken(settings: Settings, *, now: datetime) -> dict[str, int]:
        raise OSError("disk full")

    _job(sweep, settings, "sweep")()
    _job(broken, settings, "digest")()
    first, second = lines(stream)
    assert (first["logger"], first["level"], first["message"]) == (
        "domus.scheduler", "INFO", "sweep: {'notifications': 3}")
    assert second["message"] == "digest failed" and "disk full" in second["exception"]


def test_the_formatter_writes_numbers_as_numbers_and_anything_else_as_text() -> None:
    record = logging.LogRecord("domus", logging.INFO, __file__, 1, "m", None, None)
    record.duration_ms, record.status, record.job = 12.5, None, object()
    line = json.loads(JsonFormatter().format(record))
    assert line["duration_ms"] == 12.5 and "status" not in line
    assert line["job"].startswith("<object object")
