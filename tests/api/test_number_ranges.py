"""Whole-number fields refuse numbers out of range before converting them: `1e1000000` would make
int() hold the GIL for seconds, and a page past 2**63 / limit overflowed the database's OFFSET
(a 500). Every such field answers 400 at once, naming the field and its range."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dbconnector.store.seed import build_demo_target

HUGE = "99999999999999999999"
BIG_EXPONENT = "1e1000000"  # as JSON text: the body parser reads it as an exact Decimal
# Far below what int(Decimal("1e1000000")) takes (tens of seconds), far above a refusal's time.
PROMPT = 5.0


@pytest.fixture
def token(env, tmp_path: Path) -> str:
    path = tmp_path / "target.db"
    build_demo_target(path)
    return env.connection({"driver": "sqlite", "database": str(path)}, name="demo")


def _post_raw(env, path: str, body: str):  # type: ignore[no-untyped-def]
    return env.owner.post(path, data=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/v1/select/sqlite", '{"token": "%s", "table": "testTable", "limit": %s}', "limit"),
        (
            "/v1/select/sqlite",
            '{"token": "%s", "table": "testTable", "sort": ["ID"], "limit": 2, "page": %s}',
            "page",
        ),
        (
            "/v1/jobs/select/sqlite",
            '{"token": "%s", "table": "testTable", "timeout": %s}',
            "timeout",
        ),
        ("/v1/jobs/select/sqlite", '{"token": "%s", "table": "testTable", "retain": %s}', "retain"),
    ],
)
@pytest.mark.parametrize("number", [BIG_EXPONENT, f'"{HUGE}"', "4611686018427387904", "9" * 5000])
def test_a_huge_number_in_a_body_is_a_prompt_400(env, token, path, body, field, number):
    started = time.monotonic()
    response = _post_raw(env, path, body % (token, number))
    assert time.monotonic() - started < PROMPT
    assert response.status_code == 400
    error = response.get_json()["error"]
    if len(number) > 4300:  # beyond Python's digits for an int: refused by the parser
        assert error == "A number in the request body has too many digits"
    else:
        assert error == f"{field} must be between {1 if field != 'page' else 0} and 2147483647"


def test_select_with_a_page_past_2_62_is_400_not_an_overflow(env, token):
    body = {"token": token, "table": "testTable", "sort": ["ID"], "limit": 5}
    response = env.owner.post("/v1/select/sqlite", {**body, "page": 4611686018427387904})
    assert response.status_code == 400
    assert response.get_json() == {"error": "page must be between 0 and 2147483647"}
    # The largest page accepted runs, past the last row.
    assert env.owner.post("/v1/select/sqlite", {**body, "page": 2147483647}).get_json() == []


@pytest.mark.parametrize("listing", ["/v1/users", "/v1/jobs"])
def test_listings_with_a_huge_page_are_400(env, listing):
    response = env.owner.get(f"{listing}?page={HUGE}&limit=5")
    assert response.status_code == 400
    assert response.get_json() == {"error": "page must be between 0 and 2147483647"}
    assert env.owner.get(f"{listing}?page=2147483647&limit=5").get_json() == []


def test_a_result_page_at_a_huge_offset_is_400(env, token):
    submitted = env.owner.post("/v1/jobs/select/sqlite", {"token": token, "table": "testTable"})
    job_id = submitted.get_json()["jobId"]
    assert env.services.jobs.run_one() == "succeeded"
    response = env.owner.get(f"/v1/jobs/{job_id}/results/0?offset=99999999999999999999999")
    assert response.status_code == 400
    assert response.get_json() == {"error": "offset must be between 0 and 2147483647"}
    page = env.owner.get(f"/v1/jobs/{job_id}/results/0?offset=2147483647").get_json()
    assert (page["rows"], page["total"]) == ([], 8)
