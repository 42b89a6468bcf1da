"""Request schemas of the execution endpoints (/select, /insert, /update, /delete, /query, /exec).

The structure of `filter`, `fields`, `sort` and `values` is checked where it is compiled
(sql/filters.py, sql/statements.py); these schemas check presence and the scalar fields, with the
original service's messages ("Missing table in payload", ...).
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate, validates, validates_schema

from .fields import text, whole
from .schemas import RequestSchema

PARAM_NAME = re.compile(r"^@?([A-Za-z_][A-Za-z0-9_]*)$")
OUTPUT_KINDS = {"number", "varchar", "nvarchar"}


def raw(description: str) -> fields.Raw:
    return fields.Raw(allow_none=True, metadata={"description": description})


class TargetRequest(RequestSchema):
    token = text("token", required=True, missing="Missing connection string token")


class TableRequest(TargetRequest):
    table = text("table", required=True, allow_empty=False)


class SelectRequest(TableRequest):
    fields = raw('Fields to return, e.g. ["ID", "Name"]; all when omitted')
    filter = raw('A filter array, e.g. [{"ID": 1}, {"^Name": "dav%"}]')
    sort = raw('Sort keys, e.g. ["ID DESC", "Name"]; required with limit')
    limit = whole("limit", low=1)
    page = whole("page")


class InsertRequest(TableRequest):
    fields = raw('Columns to fill, e.g. ["ID", "Name"]')
    values = raw('Rows, e.g. [[1, "david"], [2, "mike"]]')


class UpdateRequest(TableRequest):
    values = raw('Column -> new value, e.g. {"Name": "david"}')
    filter = raw("A filter array (required, non-empty)")


class DeleteRequest(TableRequest):
    filter = raw("A filter array (required, non-empty)")


class QueryRequest(TargetRequest):
    statement = text("statement", required=True, missing="Missing statement", allow_empty=False)
    args = raw("Values for {name} tokens in the statement: an object or a JSON string")


def _names(value: Any, what: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be an object")
    for name in value:
        if not PARAM_NAME.match(name):
            raise ValidationError(f"{what}: '{name[:40]}' is not a parameter name")


class ExecRequest(TargetRequest):
    procname = text(
        "procname", required=True, missing="Missing procname in payload", allow_empty=False
    )
    params = raw("Input parameters by name, in any order")
    output = raw('Output parameters by name: "number", "varchar" (or "nvarchar")')

    @validates("params")
    def _v_params(self, value: Any, **_: Any) -> None:
        _names(value, "params")
        for name, item in (value or {}).items():
            if isinstance(item, dict | list):
                raise ValidationError(f"params.{name} must be a string, number, boolean or null")

    @validates("output")
    def _v_output(self, value: Any, **_: Any) -> None:
        _names(value, "output")
        for name, kind in (value or {}).items():
            if not isinstance(kind, str) or kind.lower() not in OUTPUT_KINDS:
                raise ValidationError(f'output.{name} must be "number", "varchar" or "nvarchar"')


# Async jobs (api/jobs.py): the synchronous body plus how long it may run and be kept.
class _JobOptions(RequestSchema):
    timeout = whole("timeout", low=1)
    retain = whole("retain", low=1)


class SelectJobRequest(SelectRequest, _JobOptions):
    pass


class QueryJobRequest(QueryRequest, _JobOptions):
    pass


class ExecJobRequest(ExecRequest, _JobOptions):
    pass


JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "expired")


class JobsQuery(RequestSchema):
    status = fields.String(
        validate=validate.OneOf(
            JOB_STATUSES, error="status must be one of " + ", ".join(JOB_STATUSES)
        )
    )
    page = whole("page")
    limit = whole("limit", low=1, high=1000)
    user = whole("user", low=1)


class JobPageQuery(RequestSchema):
    offset = whole("offset")
    limit = whole("limit", low=1, high=10_000)
    format = fields.String(
        validate=validate.OneOf(
            ("json", "csv", "ndjson"), error="format must be json, csv or ndjson"
        )
    )


TRANSFER_MODES = ("append", "create", "replace")
TRANSFER_BATCH_MAX = 50_000


class _TransferSide(TargetRequest):
    driver = text("driver", allow_empty=False)


class TransferSource(_TransferSide):
    statement = text("statement", allow_empty=False)
    table = text("table", allow_empty=False)
    fields = raw('Fields to copy, e.g. ["ID", "Name"]; all when omitted')
    filter = raw('A /select filter array, e.g. [{"Sex": "Female"}]')
    sort = raw('Sort keys, e.g. ["ID"]')
    limit = raw("Not taken: a transfer copies every row")
    page = raw("Not taken: a transfer copies every row")

    @validates_schema
    def _one_source(self, data: dict, **_: Any) -> None:
        if bool(data.get("statement")) == bool(data.get("table")):
            raise ValidationError("source needs a statement or a table (not both)")
        if data.get("statement") and any(
            data.get(key) is not None for key in ("fields", "filter", "sort")
        ):
            raise ValidationError("source.fields, filter and sort go with a table, not a statement")
        if data.get("limit") is not None or data.get("page") is not None:
            raise ValidationError(
                "source.limit and source.page are not taken: a transfer copies every row"
            )


class TransferTarget(_TransferSide):
    table = text("table", required=True, allow_empty=False, missing="Missing target.table")
    mode = fields.String(
        load_default="append",
        validate=validate.OneOf(
            TRANSFER_MODES, error="target.mode must be one of " + ", ".join(TRANSFER_MODES)
        ),
    )


class TransferJobRequest(_JobOptions):
    source = fields.Nested(
        TransferSource, required=True, error_messages={"required": "Missing source in payload"}
    )
    target = fields.Nested(
        TransferTarget, required=True, error_messages={"required": "Missing target in payload"}
    )
    batchSize = whole("batchSize", low=1, high=TRANSFER_BATCH_MAX)
