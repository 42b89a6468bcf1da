"""Request schemas (marshmallow): they validate bodies and query strings, and document the API.

Unknown keys are ignored rather than refused, as the original service did: its clients send
every field they know of, often as null (see fields.py).
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates, validates_schema

from ..auth.clientip import parse_allowlist
from ..auth.tokens import parse_ttl
from ..errors import BadRequest
from ..lib.roles import ALL_ROLES, is_valid_role
from ..store.connections import looks_like_token
from ..store.tables import DESCRIPTION_MAX, IPADDRESSES_MAX, NAME_MAX, TTL_MAX, USERNAME_MAX
from .fields import flag, flatten_errors, text, whole

PAGE_LIMIT_MAX = 10_000
ROLE_BITS = ", ".join(str(int(bit)) for bit in ALL_ROLES)


class RequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """Validate `data`; a 400 lists every problem. Null optional fields are dropped."""
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        raise BadRequest("; ".join(flatten_errors(exc.messages))) from None
    return {key: value for key, value in loaded.items() if value is not None}


class AuthRequest(RequestSchema):
    username = text("username", required=True, missing="Missing username/email field")
    password = text("password", required=True, missing="Missing password field")


class RefreshRequest(RequestSchema):
    refresh_token = text("refresh_token", required=True, missing="Missing refresh token")


class PageQuery(RequestSchema):
    page = whole("page")
    limit = whole("limit", low=1, high=PAGE_LIMIT_MAX)

    @validates_schema
    def _page_needs_limit(self, data: dict, **_: Any) -> None:
        if data.get("page") is not None and data.get("limit") is None:
            raise ValidationError("page needs a limit")


def _role(value: int | None) -> None:
    if value is not None and not is_valid_role(value):
        raise ValidationError(f"role must be a combination of {ROLE_BITS}")


def _ttl(value: str | None) -> None:
    try:
        parse_ttl(value or "")
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _allowlist(value: str | None) -> None:
    try:
        parse_allowlist(value or "")
    except ValueError as exc:
        raise ValidationError(f"ipaddresses: {exc}") from None


def _username(value: str | None) -> None:
    if value is not None and (value.strip() != value or value.isdigit()):
        raise ValidationError("username must not be all digits or start or end with spaces")


class UserFields(RequestSchema):
    username = text("username", max_length=USERNAME_MAX, allow_empty=False)
    password = text("password")
    role = whole("role")
    enabled = flag("enabled")
    ipaddresses = text("ipaddresses", max_length=IPADDRESSES_MAX)
    ttl = text("ttl", max_length=TTL_MAX)

    @validates("username")
    def _v_username(self, value: str | None, **_: Any) -> None:
        _username(value)

    @validates("role")
    def _v_role(self, value: int | None, **_: Any) -> None:
        _role(value)

    @validates("ipaddresses")
    def _v_ips(self, value: str | None, **_: Any) -> None:
        _allowlist(value)

    @validates("ttl")
    def _v_ttl(self, value: str | None, **_: Any) -> None:
        _ttl(value)


class UserCreate(UserFields):
    username = text("username", required=True, max_length=USERNAME_MAX, allow_empty=False)
    password = text("password", required=True)
    role = whole("role", required=True)


class UserUpdate(UserFields):
    pass


class ConnectionFields(RequestSchema):
    connectionString = fields.Raw(
        allow_none=True,
        metadata={
            "description": "A JSON object (or a string holding one): host, port, database, "
            "user, password, schema, driver, options"
        },
    )
    name = text("name", max_length=NAME_MAX, allow_empty=False)
    description = text("description", max_length=DESCRIPTION_MAX)
    enabled = flag("enabled")

    @validates("name")
    def _v_name(self, value: Any, **_: Any) -> None:
        # GET /v1/connections/<segment> reads a UUID as a connToken, so such a name would be
        # unreachable there.
        if isinstance(value, str) and looks_like_token(value):
            raise ValidationError("name must not look like a connToken (a UUID)")

    @validates("connectionString")
    def _v_connection_string(self, value: Any, **_: Any) -> None:
        if value is not None and not isinstance(value, str | dict):
            raise ValidationError("connectionString must be a JSON object or a string holding one")


class ConnectionCreate(ConnectionFields):
    connectionString = fields.Raw(
        required=True,
        error_messages={
            "required": "Missing connectionString in payload",
            "null": "Missing connectionString in payload",
        },
    )
    name = text("name", required=True, max_length=NAME_MAX, allow_empty=False)


class ConnectionUpdate(ConnectionFields):
    pass
