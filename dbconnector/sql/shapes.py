"""What an execution request's statement looks like without its values, for the audit log.

The shape names the table, the fields, the filter's keys (operators included, in order), sort,
paging, and for /query the statement text as sent (its `args` are substituted later and are not
logged) and for /exec the procedure and its parameter names. Values never appear: they may be
personal data or secrets.
"""

from __future__ import annotations

from typing import Any

MAX_KEYS = 100


def filter_keys(spec: Any, found: list[str] | None = None) -> list[str]:
    found = [] if found is None else found
    if isinstance(spec, dict):
        for key, value in spec.items():
            if len(found) >= MAX_KEYS:
                break
            found.append(str(key))
            if key == "^":
                filter_keys(value, found)
    elif isinstance(spec, list):
        for item in spec:
            if isinstance(item, dict | list):
                filter_keys(item, found)
    return found


def _names(value: Any) -> Any:
    if isinstance(value, list):
        return [str(item) for item in value[:MAX_KEYS] if isinstance(item, str)]
    return value if isinstance(value, str) else None


def select_shape(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "table": data.get("table"),
        "fields": _names(data.get("fields")),
        "filter_keys": filter_keys(data.get("filter")),
        "sort": _names(data.get("sort")),
        "limit": data.get("limit"),
        "page": data.get("page"),
    }


def insert_shape(data: dict[str, Any]) -> dict[str, Any]:
    values = data.get("values")
    return {
        "table": data.get("table"),
        "fields": _names(data.get("fields")),
        "rows": len(values) if isinstance(values, list) else None,
    }


def update_shape(data: dict[str, Any]) -> dict[str, Any]:
    shape = {"table": data.get("table"), "filter_keys": filter_keys(data.get("filter"))}
    if isinstance(data.get("values"), dict):
        shape["columns"] = sorted(map(str, data["values"]))[:MAX_KEYS]
    return shape


def delete_shape(data: dict[str, Any]) -> dict[str, Any]:
    return {"table": data.get("table"), "filter_keys": filter_keys(data.get("filter"))}


def query_shape(data: dict[str, Any]) -> dict[str, Any]:
    return {"statement": data.get("statement"), "arg_names": _arg_names(data.get("args"))}


def exec_shape(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "procedure": data.get("procname"),
        "params": sorted(map(str, data.get("params") or {})),
        "outputs": sorted(map(str, data.get("output") or {})),
    }


def _arg_names(args: Any) -> list[str] | None:
    return sorted(map(str, args))[:MAX_KEYS] if isinstance(args, dict) else None
