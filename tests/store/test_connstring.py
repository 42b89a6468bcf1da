from __future__ import annotations

import json

import pytest

from dbconnector.errors import BadRequest
from dbconnector.store import connstring


def test_parse_accepts_spec_example_with_string_port():
    parsed = connstring.parse(
        '{"host":"MSSQL_CMDB", "port":"1433", "schema":"dbo", "database":"CMDB", '
        '"user":"myUser", "password":"myPassword"}'
    )
    assert parsed["port"] == 1433 and parsed["user"] == "myUser"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '"x"',
        '{"port": 0}',
        '{"port": 70000}',
        '{"port": true}',
        '{"options": []}',
        '{"hots": "x"}',
        '{"password": 5}',
    ],
)
def test_parse_rejects(text):
    with pytest.raises(BadRequest):
        connstring.parse(text)


def test_masked_hides_every_credential_and_the_location_and_keeps_the_rest():
    text = json.dumps(
        {
            "server": "h",
            "port": 1433,
            "database": "d",
            "schema": "s",
            "user": "u",
            "username": "u2",
            "password": "p",
            "options": {"sslpassword": "x", "pwd": "y", "timeout": 5},
        }
    )
    masked = json.loads(connstring.masked(text))
    assert masked == {
        "server": "*****",
        "port": "*****",
        "database": "*****",
        "schema": "s",
        "user": "*****",
        "username": "*****",
        "password": "*****",
        "options": {"sslpassword": "x", "pwd": "*****", "timeout": 5},
    }
    assert connstring.masked("not json") == "*****"
