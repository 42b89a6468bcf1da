"""Request fields that accept what the original service's clients send.

Clients written for the original DBConnector send numbers as strings ("limit": "10"), flags as
1/0, and `null` for fields they do not use, so: optional fields treat null as absent, whole numbers
may be JSON numbers or digit strings, and flags take true/false/1/0. Every error message names its
field, so a 400 tells the caller exactly what to fix.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate

# ASCII digits only: str.isdigit() also takes "¹" and other digits int() refuses.
_WHOLE = re.compile(r"^\s*-?[0-9]+\s*$")

# The most any whole-number field takes unless it names its own bound: a product of two of them
# (page x limit) still fits a signed 64-bit OFFSET.
WHOLE_MAX = 2**31 - 1


class WholeNumber(fields.Field):
    """A non-negative whole number given as a JSON number or a numeric string.

    The bounds are checked before converting: int() of `1e1000000` holds the GIL for seconds.
    """

    def __init__(self, low: int = 0, high: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        name = self.data_key or attr
        number: int | Decimal | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = Decimal(value)
        elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral():
            number = value
        elif isinstance(value, str) and _WHOLE.match(value):
            number = Decimal(value.strip())
        if number is None:
            raise ValidationError(f"{name} must be a whole number")
        high = WHOLE_MAX if self.high is None else self.high
        if number < self.low or number > high:
            bound = (
                f"at least {self.low}"
                if self.high is None and number < self.low
                else f"between {self.low} and {high}"
            )
            raise ValidationError(f"{name} must be {bound}")
        return int(number)


class Flag(fields.Field):
    """1/0, true/false (and their string forms)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | Decimal) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in {"1", "true", "0", "false"}:
            return value.strip().lower() in {"1", "true"}
        raise ValidationError(f"{self.data_key or attr} must be 1 or 0")


def text(
    name: str,
    *,
    required: bool = False,
    missing: str | None = None,
    max_length: int | None = None,
    allow_empty: bool = True,
    **kwargs: Any,
) -> fields.String:
    """A string field; `missing` is the message when a required one is absent or null."""
    absent = missing or f"Missing {name} in payload"
    validators = []
    if not allow_empty and max_length is not None:
        validators.append(
            validate.Length(1, max_length, error=f"{name} must be 1 to {max_length} characters")
        )
    elif not allow_empty:
        validators.append(validate.Length(min=1, error=f"{name} must not be empty"))
    elif max_length is not None:
        validators.append(
            validate.Length(max=max_length, error=f"{name} must be at most {max_length} characters")
        )
    return fields.String(
        required=required,
        allow_none=not required,
        validate=validators,
        error_messages={
            "required": absent,
            "null": absent,
            "invalid": f"{name} must be a string",
            "invalid_utf8": f"{name} must be valid text",
        },
        **kwargs,
    )


def whole(
    name: str, *, required: bool = False, low: int = 0, high: int | None = None, **kwargs: Any
) -> WholeNumber:
    absent = f"Missing {name} in payload"
    return WholeNumber(
        low=low,
        high=high,
        required=required,
        allow_none=not required,
        error_messages={"required": absent, "null": absent},
        **kwargs,
    )


def flag(name: str, **kwargs: Any) -> Flag:
    return Flag(allow_none=True, error_messages={"null": f"{name} must be 1 or 0"}, **kwargs)


def flatten_errors(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's {"field": ["msg"]} -> ["msg", ...]; generic messages get the field's name."""
    out: list[str] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_errors(value, name))
    elif isinstance(messages, list):
        for item in messages:
            out.extend(flatten_errors(item, prefix))
    else:
        text_ = str(messages)
        root = prefix.split(".")[0]
        named = root in text_ or root.replace("_", " ") in text_
        if prefix and not named and prefix != "_schema":
            text_ = f"{prefix}: {text_}"
        out.append(text_)
    return out
