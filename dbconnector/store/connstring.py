"""Connection strings: a JSON object naming a target database, as the specification's examples show.

    {"host": "sql.city.local", "port": 1433, "database": "CMDB", "user": "svc", "password": "...",
     "schema": "dbo", "driver": "mssql", "options": {"statement_timeout": 60}}

`user` and `username` are synonyms; a SQLite target names its file in `database`. Everything that
reads or shows a connection string goes through here, so the credential keys are masked in one
place. Below ADMIN, a caller sees neither credentials nor where the database is (host, port,
database): no host leaves the network.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ..errors import BadRequest

KNOWN_KEYS = {
    "host",
    "server",
    "port",
    "database",
    "user",
    "username",
    "password",
    "schema",
    "driver",
    "options",
}
_STRING_KEYS = KNOWN_KEYS - {"port", "options"}
# Keys whose values are credentials: shown only to ADMIN and OWNER.
CREDENTIAL_KEYS = {"user", "username", "password", "passwd", "pwd", "uid", "secret", "token"}
# Where the database is (a server, or a SQLite file's path): shown only to ADMIN and OWNER too.
LOCATION_KEYS = {"host", "server", "port", "database"}
MASK = "*****"


def parse(text: str) -> dict[str, Any]:
    """Validate a connection string and return it as a dict; BadRequest says what is wrong."""
    try:
        value = json.loads(text)
    except ValueError:
        raise BadRequest("connectionString must be a JSON object") from None
    if not isinstance(value, dict):
        raise BadRequest("connectionString must be a JSON object")
    unknown = sorted(set(value) - KNOWN_KEYS)
    if unknown:
        raise BadRequest(
            f"connectionString has unknown keys ({', '.join(unknown)}); "
            f"allowed: {', '.join(sorted(KNOWN_KEYS))}"
        )
    for key in _STRING_KEYS & set(value):
        if not isinstance(value[key], str):
            raise BadRequest(f"connectionString.{key} must be a string")
    if "port" in value:
        port = value["port"]
        if isinstance(port, str) and port.strip().isascii() and port.strip().isdigit():
            port = int(port)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise BadRequest("connectionString.port must be a port number")
        value["port"] = port
    if "options" in value and not isinstance(value["options"], dict):
        raise BadRequest("connectionString.options must be an object")
    return value


def normalise(raw: str | dict) -> str:
    """The text to store: an object is serialised, a string is kept as the admin wrote it."""
    # Numbers arrive as Decimal (jsonio.py keeps every digit); a connection string holds plain ones.
    text = json.dumps(raw, default=_plain_number) if isinstance(raw, dict) else raw
    parse(text)
    return text


def _plain_number(value: Any) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} cannot be stored in a connection string")


def masked(text: str) -> str:
    """The connection string with every credential and its location (host, port, database or
    a file's path) replaced by *****."""
    try:
        value = json.loads(text)
    except ValueError:
        return MASK
    shown = _mask(value)
    if isinstance(shown, dict):
        shown.update({key: MASK for key in shown if key.lower() in LOCATION_KEYS})
    return json.dumps(shown)


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: MASK if key.lower() in CREDENTIAL_KEYS else _mask(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask(item) for item in value]
    return value
