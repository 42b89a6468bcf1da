"""/query's `args`: named {tokens} in the statement are replaced by the given values, as text.

This is the specification's "kind of stored procedure": `SELECT {a} FROM {c}` with
`{"a": "ID", "c": "dbo.users"}` runs `SELECT ID FROM dbo.users`. It is text substitution by design
(the tokens are usually identifiers, which cannot be bound parameters), open only to roles that may
run arbitrary SQL through /query anyway. Only tokens named in `args` are replaced, so braces
elsewhere in the SQL (JSON literals, T-SQL ODBC escapes) are left alone.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from ..errors import BadRequest

_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_args(args: Any) -> dict[str, Any]:
    if args is None or args == "":
        return {}
    if isinstance(args, str):
        try:
            args = json.loads(args, parse_float=Decimal)
        except ValueError:
            raise BadRequest("args must be a JSON object (or a string holding one)") from None
    if not isinstance(args, dict):
        raise BadRequest("args must be a JSON object (or a string holding one)")
    return args


def _text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return "NULL"
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    raise BadRequest(f"args.{name} must be a string, number, boolean or null")


def expand(statement: str, args: Any) -> str:
    values = parse_args(args)
    texts = {name: _text(name, value) for name, value in values.items()}
    return _TOKEN.sub(lambda m: texts.get(m.group(1), m.group(0)), statement)
