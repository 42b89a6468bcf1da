"""The statement timeout's backstop, under gunicorn: caller SQL that turns the server's own
timeout off (`SET LOCAL statement_timeout = 0` on PostgreSQL, `max_statement_time = 0` on
MariaDB) is still cancelled from the service a margin past DBCONNECTOR_STATEMENT_TIMEOUT, and
while such calls hold every thread the heartbeat still answers at once."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from tests.support.app import OWNER
from tests.support.backends import connection_for

TIMEOUT = 1  # DBCONNECTOR_STATEMENT_TIMEOUT of the served instance
BOUND = TIMEOUT + 2 + 4  # the backstop's margin is 2 s; 4 s for a loaded machine
SLOW = 4  # calls at once, on 1 worker x 2 threads
ESCAPES = {
    "postgresql": "SET LOCAL statement_timeout = 0; SELECT pg_sleep(60) AS slept",
    "mysql": "SET SESSION max_statement_time = 0; SELECT SLEEP(60) AS slept",
}
STILL_SLEEPING = {
    "postgresql": "SELECT count(*) FROM pg_stat_activity "
    "WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
    "mysql": "SELECT count(*) FROM information_schema.PROCESSLIST "
    "WHERE INFO LIKE '%SLEEP(60)%' AND ID <> CONNECTION_ID()",
}


@pytest.fixture(scope="module")
def service(served):  # type: ignore[no-untyped-def]
    return served(
        DBCONNECTOR_WORKERS="1",
        DBCONNECTOR_THREADS="2",
        DBCONNECTOR_STATEMENT_TIMEOUT=str(TIMEOUT),
    )


@pytest.mark.parametrize("driver", ["postgresql", "mysql"])
def test_a_statement_that_turns_its_timeout_off_is_cancelled_and_the_heartbeat_answers(
    request, service, driver
):
    url = request.getfixturevalue(
        "fresh_postgres_url" if driver == "postgresql" else "mysql_server_url"
    )
    owner = service.login(*OWNER)
    spec = connection_for(url, driver, 5432 if driver == "postgresql" else 3306)
    status, made = service.call(
        "POST", "/v1/connection", {"name": f"slow-{driver}", "connectionString": spec}, owner
    )
    assert status == 201, made
    statement = ESCAPES[driver]
    answers: list[tuple[int, object, float]] = []

    def slow() -> None:
        started = time.monotonic()
        status, body = service.call(
            "POST",
            f"/v1/query/{driver}",
            {"token": made["connToken"], "statement": statement},
            owner,
            timeout=4 * BOUND,
        )
        answers.append((status, body, time.monotonic() - started))

    threads = [threading.Thread(target=slow) for _ in range(SLOW)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        started = time.monotonic()
        assert service.call("GET", "/admin/ok", timeout=30) == (200, {})
        assert time.monotonic() - started < 1.0
        time.sleep(0.2)
    for thread in threads:
        thread.join()
    # Two at a time on two threads: each waits at most one turn, and ends past the timeout.
    assert len(answers) == SLOW
    for status, body, seconds in answers:
        assert seconds < 2 * BOUND, answers
        assert (status, body) == (
            400,
            {"error": f"The statement was cancelled after {TIMEOUT} s (statement timeout)"},
        )
    engine = create_engine(url)
    try:
        with engine.connect() as conn:  # cancelled at the server, not only given up on
            assert conn.execute(text(STILL_SLEEPING[driver])).scalar() == 0
    finally:
        engine.dispose()
