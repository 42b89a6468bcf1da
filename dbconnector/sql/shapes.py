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


def shape_of(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind == "query":
        return {"statement": data.get("statement"), "arg_names": _arg_names(data.get("args"))}
    if kind == "exec":
        return {
            "procedure": data.get("procname"),
            "params": sorted(map(str, data.get("params") or {})),
            "outputs": sorted(map(str, data.get("output") or {})),
        }
    shape: dict[str, Any] = {"table": data.get("table")}
    if kind in ("select", "insert"):
        shape["fields"] = _names(data.get("fields"))
    if kind in ("select", "update", "delete"):
        shape["filter_keys"] = filter_keys(data.get("filter"))
    if kind == "select":
        shape.update(sort=_names(data.get("sort")), limit=data.get("limit"), page=data.get("page"))
    if kind == "insert":
        values = data.get("values")
        shape["rows"] = len(values) if isinstance(values, list) else None
    if kind == "update" and isinstance(data.get("values"), dict):
        shape["columns"] = sorted(map(str, data["values"]))[:MAX_KEYS]
    return shape


def _arg_names(args: Any) -> list[str] | None:
    return sorted(map(str, args))[:MAX_KEYS] if isinstance(args, dict) else None
