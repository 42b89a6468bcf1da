"""envelope.Envelope as plain WSGI middleware: the request id and the headers every answer gets."""

from __future__ import annotations

from typing import Any

from dbconnector.telemetry.requestlog import REQUEST_ID, STARTED
from dbconnector.web.http_policy import security_headers
from dbconnector.web.middleware import Envelope


def call(app: Any, **environ: Any) -> tuple[str, list[tuple[str, str]], dict]:
    seen: dict = {}

    def inner(env: dict, start_response: Any) -> list[bytes]:
        seen.update(env)
        return app(env, start_response)

    answer: dict = {}

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        answer.update(status=status, headers=headers)

    body = Envelope(inner)({"wsgi.url_scheme": "http", **environ}, start_response)
    assert b"".join(body) == b"{}"
    return answer["status"], answer["headers"], seen


def json_app(*headers: tuple[str, str]) -> Any:
    def app(environ: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json"), *headers])
        return [b"{}"]

    return app


def test_a_plain_request_id_is_kept_and_returned_once():
    _, headers, environ = call(json_app(), HTTP_X_REQUEST_ID="job-42:retry.1")
    assert [v for k, v in headers if k == "X-Request-ID"] == ["job-42:retry.1"]
    assert environ[REQUEST_ID] == "job-42:retry.1" and isinstance(environ[STARTED], float)


def test_any_other_request_id_is_replaced_by_a_new_one_per_request():
    for given in ("", "a b", "x\r\nSet-Cookie: a=b", "y" * 129, "id\n"):
        _, headers, _ = call(json_app(), HTTP_X_REQUEST_ID=given)
        [returned] = [v for k, v in headers if k == "X-Request-ID"]
        assert returned != given and len(returned) == 32 and int(returned, 16) >= 0
    first = dict(call(json_app())[1])["X-Request-ID"]
    assert dict(call(json_app())[1])["X-Request-ID"] != first


def test_security_headers_are_added_and_a_chosen_cache_control_is_kept():
    _, headers, _ = call(json_app(("cache-control", "max-age=60")))
    names = [k.lower() for k, _ in headers]
    assert names.count("cache-control") == 1 and ("cache-control", "max-age=60") in headers
    assert ("X-Frame-Options", "DENY") in headers
    assert "strict-transport-security" not in names


def test_hsts_only_over_https():
    plain = security_headers([("Content-Type", "application/json")], https=False)
    secure = security_headers([("Content-Type", "application/json")], https=True)
    assert ("Cache-Control", "no-store") in plain and ("Cache-Control", "no-store") in secure
    assert [k for k, _ in secure if k == "Strict-Transport-Security"] == [
        "Strict-Transport-Security"
    ]
    assert "Strict-Transport-Security" not in dict(plain)
