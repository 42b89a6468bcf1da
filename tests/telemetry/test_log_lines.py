"""requestlog.write_info: a line straight to the service's JSON handler when that is the only place
it can go, through logging otherwise, and the same line either way."""

from __future__ import annotations

import io
import json
import logging

import pytest

from dbconnector.telemetry.requestlog import BatchingStreamHandler, JsonFormatter, write_info

FIELDS = {"request_id": "abc", "status": 200, "rows": None, "endpoint": "/v1/users/<userid>"}


class Collecting(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def chain():  # type: ignore[no-untyped-def]
    """'dbc-test' (propagating to nothing else) above 'dbc-test.lines', which writes at INFO
    to the service's JSON handler only (as production's root logger does)."""
    top, logger = logging.getLogger("dbc-test"), logging.getLogger("dbc-test.lines")
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream, interval=3600)
    handler.setFormatter(JsonFormatter())
    top.handlers[:], top.propagate = [handler], False
    top.setLevel(logging.INFO)
    logger.handlers[:], logger.filters[:] = [], []
    logger.setLevel(logging.NOTSET)  # setLevel, not .level: it clears the enabled-for cache

    def written() -> list[dict]:
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield logger, handler, written
    top.handlers[:], top.propagate = [], True
    logger.handlers[:], logger.filters[:] = [], []


def only_ours(handler: logging.Handler) -> None:
    """Take off the handlers pytest adds to non-propagating loggers for each test phase, so the
    service's handler is the only one, as in production."""
    logging.getLogger("dbc-test").handlers[:] = [handler]


def without_time(line: dict) -> dict:
    return {key: value for key, value in line.items() if key != "ts"}


def test_the_direct_line_is_the_line_logging_writes(chain):
    logger, handler, written = chain
    only_ours(handler)
    write_info(logger, "request", FIELDS)  # direct: the handler is the only one
    logger.info("request", extra={"dbc": FIELDS})  # through logging and JsonFormatter
    direct, logged = written()
    assert (
        without_time(direct)
        == without_time(logged)
        == {
            "level": "info",
            "logger": "dbc-test.lines",
            "message": "request",
            **FIELDS,
        }
    )
    for line in (direct, logged):
        date, clock = line["ts"].rstrip("Z").split("T")
        assert line["ts"].endswith("Z") and len(date) == 10 and len(clock) == 12


def test_the_direct_path_queues_without_a_record(chain, monkeypatch):
    logger, handler, written = chain
    only_ours(handler)
    monkeypatch.setattr(logger, "makeRecord", lambda *a, **k: pytest.fail("a record was made"))
    write_info(logger, "audit", {"action": "x"})
    assert [line["action"] for line in written()] == ["x"]


def test_another_handler_on_the_way_gets_the_record(chain):
    logger, _handler, written = chain
    extra = Collecting()
    logger.addHandler(extra)
    write_info(logger, "request", FIELDS)
    [record] = extra.records
    assert record.dbc == FIELDS  # type: ignore[attr-defined]
    assert without_time(written()[0])["request_id"] == "abc"  # and the JSON handler still


@pytest.mark.parametrize("where", ["logger filter", "handler filter", "logger level"])
def test_filters_and_levels_still_apply(chain, where):
    logger, handler, written = chain
    only_ours(handler)
    if where == "logger filter":
        logger.addFilter(lambda record: False)
    elif where == "handler filter":
        handler.addFilter(lambda record: False)
    else:
        logger.setLevel(logging.WARNING)
    write_info(logger, "request", FIELDS)
    assert written() == []


def test_text_format_goes_through_logging(chain):
    logger, handler, _written = chain
    only_ours(handler)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    write_info(logger, "request", FIELDS)
    handler.flush()
    assert handler.stream.getvalue() == "INFO request\n"


def test_a_value_orjson_refuses_still_makes_a_line(chain):
    logger, handler, written = chain
    only_ours(handler)
    fields = {"statement": "SELECT 'a\ud800b'", "rows": 2**70}  # a lone surrogate, a huge int
    write_info(logger, "audit", fields)  # direct: nothing here would swallow an error
    [line] = written()
    assert line["statement"] == "SELECT 'a\ud800b'" and line["rows"] == 2**70
