from __future__ import annotations

import pytest

from dbconnector.auth.tokens import parse_ttl


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("", None),
        ("  ", None),
        ("90s", 90),
        ("3m", 180),
        ("10m", 600),
        ("1s", 1),
        ("120", 120),
        ("5M", 300),
        (" 45 s ", 45),
    ],
)
def test_parse_ttl(text, seconds):
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["0s", "601s", "11m", "1h", "abc", "-5s", "1.5m"])
def test_parse_ttl_rejects(text):
    with pytest.raises(ValueError):
        parse_ttl(text)
