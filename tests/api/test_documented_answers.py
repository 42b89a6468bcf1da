"""Every operation in /v1/openapi.json, called the way a client would (valid request, real OWNER
token, the demo's SQLite target), answers with a status, content type and body the document
describes. Random requests (test_schemathesis.py) are mostly refused with 400, so this is what
checks the documented success bodies; the flood answer and the 403 body are checked too."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis

from dbconnector.store.seed import DEMO_TOKEN, seed_demo
from tests.support.app import OWNER, Env

SQLITE_TARGET = {"token": DEMO_TOKEN}


def _canonical(method: str, path: str) -> str:
    """One key for the singular and plural spellings of the same route."""
    path = re.sub(r"/connections?(?=/|$)", "/connections", path)
    return f"{method.upper()} {re.sub(r'/users?(?=/|$)', '/users', path)}"


class Requests:
    """A valid request for each operation; things an operation changes or deletes are made fresh."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.count = 0

    def user(self) -> int:
        self.count += 1
        body = {"username": f"doc{self.count}@example.org", "password": "User-Password-1"}
        answer = self.env.owner.post("/v1/users", {**body, "role": 1})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["id"]

    def connection(self) -> tuple[str, str]:
        self.count += 1
        name = f"doc{self.count}"
        answer = self.env.owner.post(
            "/v1/connections",
            {"name": name, "connectionString": {"host": "db.internal", "user": "svc"}},
        )
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["connToken"], name

    def job(self, finished: bool) -> str:
        """A job on the demo target: run to its end, or still queued (to be cancelled)."""
        answer = self.env.owner.post(
            "/v1/jobs/select/sqlite", {**SQLITE_TARGET, "table": "testTable"}
        )
        assert answer.status_code == 202, answer.get_json()
        if finished:
            assert self.env.services.jobs.run_one() == "succeeded"
        return answer.get_json()["jobId"]

    def build(self, key: str) -> tuple[dict[str, str], Any, dict[str, str]]:
        """(path parameters, JSON body, extra headers) for the operation `key`."""
        method, path = key.split(" ", 1)
        params: dict[str, str] = {}
        if "{identifier}" in path:
            params["identifier"] = str(self.user())
        if "{userid}" in path:
            params["userid"] = str(self.user())
        if "{token}" in path or "{name}" in path:
            token, name = self.connection()
            params.update(token=token, name=name)
            if "{userid}" in path and method == "DELETE":
                granted = self.env.owner.post(f"/v1/connections/{token}/users/{params['userid']}")
                assert granted.status_code == 201
        if "{driver}" in path:
            params["driver"] = "sqlite"
        if "{job_id}" in path:
            params["job_id"] = self.job(finished=not path.endswith("/cancel"))
        if "{index}" in path:
            params["index"] = "0"
        self.count += 1
        bodies: dict[str, Any] = {
            "POST /v1/auth": {"username": OWNER[0], "password": OWNER[1]},
            "POST /v1/users": {
                "username": f"created{self.count}@example.org",
                "password": "User-Password-1",
                "role": 1,
            },
            "PATCH /v1/users/{identifier}": {"ttl": "5m"},
            "POST /v1/connections": {
                "name": f"created{self.count}",
                "connectionString": {
                    "driver": "sqlite",
                    "database": str(self.env.services.settings.data_dir / "demo.db"),
                },
            },
            "PATCH /v1/connections/{token}": {"description": "changed"},
            "POST /v1/select/{driver}": {
                **SQLITE_TARGET,
                "table": "testTable",
                "limit": 2,
                "sort": ["ID"],
            },
            "POST /v1/insert/{driver}": {
                **SQLITE_TARGET,
                "table": "testTable",
                "fields": ["Name"],
                "values": [["Doc"]],
            },
            "POST /v1/update/{driver}": {
                **SQLITE_TARGET,
                "table": "testTable",
                "values": {"Age": 41},
                "filter": [{"ID": 1}],
            },
            "POST /v1/delete/{driver}": {
                **SQLITE_TARGET,
                "table": "testTable",
                "filter": [{"Name": "nobody"}],
            },
            "POST /v1/query/{driver}": {
                **SQLITE_TARGET,
                "statement": "SELECT ID FROM testTable; SELECT 1 AS n",
            },
            "POST /v1/jobs/select/{driver}": {**SQLITE_TARGET, "table": "testTable"},
            "POST /v1/jobs/query/{driver}": {**SQLITE_TARGET, "statement": "SELECT 1 AS n"},
            "POST /v1/jobs/transfer": {
                "source": {**SQLITE_TARGET, "table": "testTable"},
                "target": {**SQLITE_TARGET, "table": "testTable"},
            },
        }
        headers: dict[str, str] = {}
        if key == "POST /v1/auth/refresh":
            fresh = self.env.anon.login(*OWNER)
            headers["Authorization"] = f"Bearer {fresh.token}"
            bodies[key] = {"refresh_token": fresh.refresh_token}
        return params, bodies.get(key), headers


# SQLite has no stored procedures: /exec's success bodies are checked on PostgreSQL in
# tests/live; here its answer is the documented 400.
REFUSED = {"POST /v1/exec/{driver}": 400, "POST /v1/jobs/exec/{driver}": 400}


@pytest.fixture
def env(make_env) -> Env:  # type: ignore[no-untyped-def]
    env = make_env()
    seed_demo(env.services.engine, env.services.settings)
    return env


def _check(operation: Any, response: Any) -> None:
    documented = operation.definition.raw["responses"][str(response.status_code)]
    assert response.mimetype in documented.get("content", {}), (response.mimetype, documented)
    operation.validate_response(response)


def test_every_operation_answers_as_documented_when_called_properly(env):
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", env.app)
    requests = Requests(env)
    seen = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        key = _canonical(operation.method, operation.path)
        params, body, headers = requests.build(key)
        path = operation.path.format(**params)
        response = env.owner.call(operation.method.upper(), path, json=body, headers=headers)
        documented = operation.definition.raw["responses"]
        success = 202 if "202" in documented else 201 if "201" in documented else 200
        expected = REFUSED.get(key, success if operation.method == "post" else 200)
        assert response.status_code == expected, (key, response.get_data(as_text=True))
        _check(operation, response)
        seen.add(key)
    assert len(seen) >= 35  # every distinct route, each with its aliases


def test_the_flood_answer_and_the_403_body_are_documented(make_env):
    env = make_env(ratelimit="3/minute")
    seed_demo(env.services.engine, env.services.settings)
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", env.app)

    users = schema["/v1/users"]["GET"]
    forbidden = env.user(1).get("/v1/users")  # a SELECT-only user may not list users
    assert forbidden.status_code == 403 and forbidden.get_json() == {}
    _check(users, forbidden)

    select = schema["/v1/select/{driver}"]["POST"]
    body = {**SQLITE_TARGET, "table": "testTable", "limit": 1, "sort": ["ID"]}
    answers = [env.owner.post("/v1/select/sqlite", body) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].get_json() != {"error": "No Data"}
    assert answers[-1].get_json() == {"error": "No Data"}
    _check(select, answers[-1])
