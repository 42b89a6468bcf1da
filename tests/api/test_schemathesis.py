"""A bounded schemathesis run over /v1/openapi.json, in process, with a real OWNER token and the
demo's real SQLite target: no 5xx anywhere, and every status, content type and body as documented.
`make fuzz` runs the same checks longer against a served instance."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dbconnector.store.seed import seed_demo
from tests.support.app import OWNER, build_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api(tmp_path, migrated_template):  # type: ignore[no-untyped-def]
    app = build_app(
        tmp_path, migrated_template, ratelimit="1000000/minute", auth_ratelimit="1000000/minute"
    )
    services = app.extensions["dbconnector"]
    seed_demo(services.engine, services.settings)
    login = app.test_client().post("/v1/auth", json={"username": OWNER[0], "password": OWNER[1]})
    yield app, login.get_json()["authToken"]
    services.engine.dispose()


def test_every_operation_answers_as_documented(api):  # type: ignore[no-untyped-def]
    app, token = api
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40  # every route is in the document

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case):  # type: ignore[no-untyped-def]
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        answers_as_documented()
