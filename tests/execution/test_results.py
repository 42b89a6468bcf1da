"""Database values -> JSON: exact decimals, ISO dates, base64 bytes, strings for UUIDs."""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from decimal import Decimal

import pytest

from dbconnector.api.body import loads
from dbconnector.execution.results import dumps, encode_lines


@pytest.mark.parametrize(
    "value, text",
    [
        (Decimal("12345678901234567890.123456789"), b"12345678901234567890.123456789"),
        (Decimal("1.50"), b"1.50"),
        (Decimal("-0.000001"), b"-0.000001"),
        (Decimal("1E+3"), b"1000"),
        (Decimal("NaN"), b"null"),
        (dt.datetime(2021, 8, 10, 19, 30, 20, 160000), b'"2021-08-10T19:30:20.160000"'),
        (dt.datetime(2021, 8, 10, 19, 30, tzinfo=dt.UTC), b'"2021-08-10T19:30:00+00:00"'),
        (dt.date(2021, 8, 10), b'"2021-08-10"'),
        (dt.time(7, 5, 3), b'"07:05:03"'),
        (dt.timedelta(hours=26, minutes=3, seconds=4), b'"26:03:04"'),
        (dt.timedelta(seconds=-61), b'"-00:01:01"'),
        (
            uuid.UUID("45826be6-1e29-cc64-b49e-550b9610c2ea"),
            b'"45826be6-1e29-cc64-b49e-550b9610c2ea"',
        ),
        (b"\x00\xffhi", b'"AP9oaQ=="'),
        (memoryview(b"abc"), b'"YWJj"'),
        (True, b"true"),
        (ipaddress.ip_address("10.0.0.1"), b'"10.0.0.1"'),
    ],
)
def test_values(value, text):
    assert dumps(value) == text


def test_decimals_parse_exactly_and_nan_is_refused():
    assert loads('{"a": 12345678901234567.89}') == {"a": Decimal("12345678901234567.89")}
    with pytest.raises(ValueError):
        loads('{"a": NaN}')


def test_encode_lines_gives_each_row_exactly_as_dumps_writes_it():
    columns = ["id", "text", "doc", "amount"]
    rows = [
        (1, "a,\n,b", [{"id": 1}, {"id": 2}], Decimal("1.50")),  # the break's own bytes, escaped
        (2, '},{"id":', {"k": "v\n"}, None),
        (3, "", None, Decimal("-0.000001")),
    ]
    lines = encode_lines(columns, rows)
    assert lines == [dumps(dict(zip(columns, row, strict=True))) for row in rows]
    assert all(b"\n" not in line for line in lines)
    assert loads(lines[0]) == {
        "id": 1,
        "text": "a,\n,b",
        "doc": [{"id": 1}, {"id": 2}],
        "amount": Decimal("1.50"),
    }
    assert encode_lines(columns, []) == []
