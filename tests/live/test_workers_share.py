"""Served instances with several gunicorn workers share what must not differ between workers:
flood counts (shm://, the default), revocations and disabled users.

Every call goes over a fresh connection, and the calls are dealt to the workers in turn
(Service.only stops the other workers meanwhile), so each worker is shown to refuse what the
others counted, whatever way gunicorn would have handed the connections out."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import pytest

from tests.support.servers import Service

pytestmark = pytest.mark.live

OWNER = ("workers-owner", "Workers-Owner-Password-1")
LIMIT = 5
FLOOD = {"error": "No Data"}
DAY = 86400  # a day's window: only a test running across midnight (UTC) could see two


def served(tmp_path: Path, workers: int, **settings: str) -> Service:
    service = Service(
        tmp_path,
        DBCONNECTOR_OWNER_USERNAME=OWNER[0],
        DBCONNECTOR_OWNER_PASSWORD=OWNER[1],
        DBCONNECTOR_BCRYPT_ROUNDS="4",
        DBCONNECTOR_WORKERS=str(workers),
        **settings,
    )
    deadline = time.monotonic() + 30
    while len(service.workers()) < workers:
        assert time.monotonic() < deadline, "the workers did not all start"
        time.sleep(0.1)
    return service


def dealt(service: Service, count: int, *call):  # type: ignore[no-untyped-def]
    """`count` calls, dealt to the workers in turn: (sent at, status, headers, body) each."""
    answers = []
    for pid in itertools.islice(itertools.cycle(service.workers()), count):
        with service.only(pid):
            sent = time.time()
            answers.append((sent, *service.request(*call)))
    return answers


def assert_refused_with_retry_after(answers) -> None:  # type: ignore[no-untyped-def]
    """Each answer is the flood answer, its Retry-After the rest of the day's window."""
    for sent, status, headers, body in answers:
        assert (status, body) == (200, FLOOD)
        expected = math.ceil((sent // DAY + 1) * DAY - sent)
        assert expected - 2 <= int(headers["Retry-After"]) <= expected + 1


@pytest.mark.parametrize("workers", [2, 4])
def test_login_floods_are_counted_once_for_all_workers(tmp_path, workers):
    service = served(tmp_path, workers, DBCONNECTOR_AUTH_RATELIMIT=f"{LIMIT}/day")
    try:
        guess = {"username": "devuser", "password": "not-the-password"}
        for _, status, _, body in dealt(service, LIMIT, "POST", "/v1/auth", guess):
            assert (status, body) == (401, {"error": "Invalid username or password"})
        assert_refused_with_retry_after(dealt(service, 2 * LIMIT, "POST", "/v1/auth", guess))
        # the right password is refused too, on every worker, while the window lasts
        right = {"username": OWNER[0], "password": OWNER[1]}
        assert_refused_with_retry_after(dealt(service, workers, "POST", "/v1/auth", right))
    finally:
        service.stop()


@pytest.mark.parametrize("workers", [2, 4])
def test_a_users_flood_limit_is_counted_once_for_all_workers(tmp_path, workers):
    service = served(tmp_path, workers, DBCONNECTOR_RATELIMIT=f"{LIMIT}/day")
    try:
        token = service.login(*OWNER)
        call = ("GET", "/v1/users/1", None, token)
        for _, status, _, body in dealt(service, LIMIT, *call):
            assert status == 200 and body[0]["Username"] == OWNER[0]
        assert_refused_with_retry_after(dealt(service, 2 * LIMIT, *call))
        assert [status for _, status, _, _ in dealt(service, workers, "GET", "/admin/ok")] == [
            200
        ] * workers  # heartbeat is never limited
    finally:
        service.stop()


USER_PASSWORD = "Revoked-User-Password-1"


def on_every_worker(services: list[Service], *call) -> list[tuple[int, object]]:  # type: ignore[no-untyped-def]
    """The same call once on each worker of each instance: (status, body) each."""
    answers = []
    for service in services:
        for pid in service.workers():
            with service.only(pid):
                answers.append(service.call(*call))
    return answers


def revocation_story(first: Service, others: list[Service]) -> None:
    """Reuse of a refresh token on `first` revokes the user's tokens; a disable follows."""
    everyone = [first, *others]
    owner = first.login(*OWNER)
    status, body = first.call(
        "POST", "/v1/users", {"username": "revoked@x", "password": USER_PASSWORD, "role": 1}, owner
    )
    assert status == 201, body
    user_id = body["id"]
    status, pair = first.call(
        "POST", "/v1/auth", {"username": "revoked@x", "password": USER_PASSWORD}
    )
    assert status == 200
    me = ("GET", f"/v1/users/{user_id}")
    # every worker of every instance caches the user (DBCONNECTOR_CACHE_SECONDS=60)
    for status, body in on_every_worker(everyone, *me, None, pair["authToken"]):
        assert status == 200 and body[0]["Username"] == "revoked@x"

    refresh = {"refresh_token": pair["refreshToken"]}
    with first.only(first.workers()[0]):  # one worker sees the refresh and its reuse
        status, fresh = first.call("POST", "/v1/auth/refresh", refresh, pair["authToken"])
        assert status == 200
        reused = first.call("POST", "/v1/auth/refresh", refresh, pair["authToken"])
        assert reused == (401, {"error": "Bad Token"})
    # revoked at once on every worker of the instance that saw the reuse
    for old_token in (pair["authToken"], fresh["authToken"]):
        assert on_every_worker([first], *me, None, old_token) == [
            (401, {"error": "Bad Token"})
        ] * len(first.workers())

    # the user logs in again: the new token works from its first call on every worker everywhere
    status, again = first.call(
        "POST", "/v1/auth", {"username": "revoked@x", "password": USER_PASSWORD}
    )
    assert status == 200
    for status, body in on_every_worker(everyone, *me, None, again["authToken"]):
        assert status == 200 and body[0]["ID"] == user_id

    # disabled by the owner through one worker: refused at once by every worker of that instance
    assert first.call("PATCH", f"/v1/users/{user_id}", {"enabled": 0}, owner) == (200, {})
    assert on_every_worker([first], *me, None, again["authToken"]) == [(403, {})] * len(
        first.workers()
    )


def test_revocations_and_disables_hold_at_once_on_every_worker(tmp_path):
    service = served(tmp_path, 2, DBCONNECTOR_CACHE_SECONDS="60")
    try:
        revocation_story(service, [])
    finally:
        service.stop()


def test_a_fresh_login_works_at_once_on_two_instances_on_postgresql(tmp_path, fresh_postgres_url):
    settings = {
        "DBCONNECTOR_CACHE_SECONDS": "60",
        "DBCONNECTOR_DATABASE_URL": fresh_postgres_url,
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = served(tmp_path / "a", 2, **settings)
    try:
        second = served(tmp_path / "b", 2, **settings)
        try:
            revocation_story(first, [second])
        finally:
            second.stop()
    finally:
        first.stop()
