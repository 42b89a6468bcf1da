"""dbconnector_client against a live served instance: tokens, floods, errors and every call."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
from dbconnector_client import (
    BadRequest,
    Client,
    Flooded,
    Forbidden,
    RefreshRejected,
    ServiceUnavailable,
    Unauthorized,
)

from dbconnector.store.seed import DEMO_PASSWORD, DEMO_TOKEN, DEMO_USERNAME, TEST_TABLE_ROWS
from tests.support.servers import free_port

ROWS = TEST_TABLE_ROWS
NAMES = [row[1] for row in ROWS]
COLUMNS = ["ID", "Name", "Address", "Sex", "Age"]


def test_the_readme_example(service, capsys):
    """client/README.md's example, as written, against the served demo."""
    readme = (Path(__file__).resolve().parents[2] / "client" / "README.md").read_text()
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(example.strip().splitlines()) == 4  # the import and the three lines
    served_url = f"http://127.0.0.1:{service.port}"
    exec(example.replace("http://127.0.0.1:8000", served_url), {})  # noqa: S102 - our own README
    printed = capsys.readouterr().out
    assert printed.strip() == str([dict(zip(COLUMNS, row, strict=True)) for row in ROWS[:3]])


def _short_lived_user(owner: Client, name: str, ttl: str = "2s") -> int:
    user = owner.create_user(name, "Short-Lived-1", 1, ttl=ttl)
    owner.grant(DEMO_TOKEN, user)
    return user


def test_200_calls_from_8_threads_with_a_2s_token(make_client):
    """The authToken expires every 2 s; the client renews it ahead, one refresh at a time, so
    no call ever meets a 401 and no refresh token is presented twice (which would revoke)."""
    owner, _ = make_client()
    _short_lived_user(owner, "ttl2@example.org")
    client, recorder = make_client("ttl2@example.org", "Short-Lived-1")
    results: list[int] = []
    errors: list[BaseException] = []
    start = time.monotonic()

    def work() -> None:
        try:
            for i in range(25):  # 25 calls each over 10 s, all 8 threads at the same moments
                delay = start + i * 0.42 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                results.append(len(client.select("sqlite", DEMO_TOKEN, "testTable", ["ID"])))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start

    assert errors == []
    assert results == [8] * 200
    assert elapsed >= 10.0
    assert 401 not in recorder.statuses()
    assert client.tokens.logins == 1  # no refresh ever failed into a fresh login
    assert client.tokens.refreshes >= 9  # about one per second of a 2 s token
    assert len(set(recorder.refresh_tokens)) == len(recorder.refresh_tokens)
    # not revoked: the pair it holds now still works, for a call and for a refresh
    assert len(client.select("sqlite", DEMO_TOKEN, "testTable")) == 8
    client.refresh()
    assert 401 not in recorder.statuses()


def test_a_spent_refresh_token_falls_back_to_login(make_client, service):
    client, recorder = make_client(DEMO_USERNAME, DEMO_PASSWORD)
    assert client.find_connection("demo") == DEMO_TOKEN
    pair = client.tokens.pair
    assert pair is not None
    # someone holding a copy spends the refresh token first
    stolen = httpx.post(
        f"http://127.0.0.1:{service.port}/v1/auth/refresh",
        json={"refresh_token": pair.refresh_token},
        headers={"Authorization": f"Bearer {pair.auth_token}"},
    )
    assert stolen.status_code == 200
    client.refresh()  # the service sees the reuse, revokes everything: one fresh login
    assert ("POST", "/v1/auth/refresh", 401, {"error": "Bad Token"}) in recorder.answers
    assert client.tokens.logins == 2
    assert len(client.select("sqlite", DEMO_TOKEN, "testTable")) == 8


def test_a_spent_refresh_token_raises_without_a_password(make_client, service):
    login = httpx.post(
        f"http://127.0.0.1:{service.port}/v1/auth",
        json={"username": DEMO_USERNAME, "password": DEMO_PASSWORD},
    ).json()
    client, _ = make_client(tokens=(login["authToken"], login["refreshToken"]))
    assert client.find_connection("demo") == DEMO_TOKEN
    spend = {"refresh_token": login["refreshToken"]}
    auth = {"Authorization": f"Bearer {login['authToken']}"}
    url = f"http://127.0.0.1:{service.port}/v1/auth/refresh"
    assert httpx.post(url, json=spend, headers=auth).status_code == 200
    with pytest.raises(RefreshRejected) as refused:
        client.refresh()
    assert (refused.value.status, refused.value.error) == (401, "Bad Token")
    # the reuse revoked the authToken it still holds, too
    with pytest.raises(Unauthorized) as revoked:
        client.find_connection("demo")
    assert revoked.value.error == "Bad Token"


def test_an_expired_token_is_refreshed_and_the_call_retried(make_client, service):
    owner, _ = make_client()
    _short_lived_user(owner, "ttl1@example.org", ttl="1s")
    login = httpx.post(
        f"http://127.0.0.1:{service.port}/v1/auth",
        json={"username": "ttl1@example.org", "password": "Short-Lived-1"},
    ).json()
    time.sleep(2.1)  # the served instance's own clock must pass the token's exp
    client, recorder = make_client(tokens=(login["authToken"], login["refreshToken"]))
    assert len(client.select("sqlite", DEMO_TOKEN, "testTable")) == 8
    assert [(path, status, body) for _, path, status, body in recorder.answers][:2] == [
        ("/v1/select/sqlite", 401, {"error": "Expired Token"}),
        ("/v1/auth/refresh", 200, recorder.answers[1][3]),
    ]
    assert recorder.answers[2][1:3] == ("/v1/select/sqlite", 200)
    assert client.tokens.refreshes == 1 and client.tokens.logins == 0


@pytest.mark.parametrize("status", ["200", "429"])
def test_flooding_is_waited_out(served, status):
    service = served(DBCONNECTOR_RATELIMIT="4/second", DBCONNECTOR_FLOOD_STATUS=status)
    url = f"http://127.0.0.1:{service.port}"
    flooded: list[int] = []

    def seen(response: httpx.Response) -> None:
        response.read()
        if response.content == b'{"error":"No Data"}':
            flooded.append(response.status_code)
            assert float(response.headers["Retry-After"]) > 0

    hooks = {"response": [seen]}
    with httpx.Client(base_url=url, event_hooks=hooks) as http:
        patient = Client(url, DEMO_USERNAME, DEMO_PASSWORD, max_retries=10, http=http)
        started = time.monotonic()
        answers = [patient.find_connection("demo") for _ in range(12)]
        assert answers == [DEMO_TOKEN] * 12
        assert flooded and set(flooded) == {int(status)}
        assert time.monotonic() - started >= 1.0  # 12 calls at 4 a second: it waited
        impatient = Client(url, DEMO_USERNAME, DEMO_PASSWORD, max_retries=0, http=http)
        with pytest.raises(Flooded) as gave_up:
            for _ in range(12):
                impatient.find_connection("demo")
    assert gave_up.value.error == "No Data" and gave_up.value.retry_after > 0


def test_errors_are_typed_with_the_service_text(make_client):
    owner, _ = make_client()
    reader_id = owner.create_user("reader@example.org", "Reader-Password-1", 1)
    owner.grant(DEMO_TOKEN, reader_id)
    reader, _ = make_client("reader@example.org", "Reader-Password-1")
    with pytest.raises(BadRequest) as bad:
        reader.select("sqlite", DEMO_TOKEN, "noSuchTable")
    assert "noSuchTable" in bad.value.error
    with pytest.raises(BadRequest) as paged:
        reader.select("sqlite", DEMO_TOKEN, "testTable", limit=2)
    assert paged.value.error == "Paged query must have sort/order"
    with pytest.raises(Forbidden) as forbidden:
        reader.list_users()
    assert (forbidden.value.status, forbidden.value.body) == (403, {})
    wrong, _ = make_client("reader@example.org", "not-the-password")
    with pytest.raises(Unauthorized) as unauthorized:
        wrong.list_users()
    assert unauthorized.value.error == "Invalid username or password"
    assert "not-the-password" not in repr(wrong) + str(unauthorized.value)


def test_connection_errors_retry_only_idempotent_calls():
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    waits: list[float] = []
    with Client(closed, "u", "p", max_retries=2, sleep=waits.append) as client:
        with pytest.raises(ServiceUnavailable) as down:
            client.ok()
        assert down.value.error == "Cannot reach the service (ConnectError)"
        assert waits == [0.2, 0.4]  # GET: retried with backoff
        waits.clear()
        with pytest.raises(ServiceUnavailable):
            client.insert("sqlite", DEMO_TOKEN, "testTable", ["Name"], [["x"]])
        assert waits == [0.2, 0.4]  # the login before it is retried, the insert never is


def test_every_call_against_the_service(make_client, tmp_path):
    owner, recorder = make_client()
    target = tmp_path / "crm.db"
    with sqlite3.connect(target) as db:
        db.execute("CREATE TABLE people (ID INTEGER PRIMARY KEY, Name TEXT, Age INTEGER)")
        db.executemany("INSERT INTO people (Name, Age) VALUES (?, ?)", [("a", 1), ("b", 2)])
    token = owner.create_connection("crm", {"driver": "sqlite", "database": str(target)})
    assert owner.find_connection("crm") == token
    assert owner.get_connection(token)["Name"] == "crm"
    owner.update_connection(token, description="the CRM")
    assert owner.get_connection(token)["Description"] == "the CRM"
    assert token in [c["Token"] for c in owner.list_connections(page=0, limit=100)]

    user = owner.create_user("writer@example.org", "Writer-Password-1", 4, ttl="90s")
    assert owner.get_user("writer@example.org")["ID"] == user
    owner.update_user(user, ipaddresses="127.0.0.1")
    assert owner.get_user(user)["IPAddresses"] == "127.0.0.1"
    assert [u["ID"] for u in owner.list_users(page=0, limit=1)] == [1]
    owner.grant(token, user)
    assert [u["ID"] for u in owner.connection_users(token)] == [user]
    writer, _ = make_client("writer@example.org", "Writer-Password-1")
    assert [c["Token"] for c in owner.user_connections(user)] == [token]

    assert writer.insert("sqlite", token, "people", ["Name", "Age"], [["c", 3]]) == {"Identity": 3}
    assert writer.update("sqlite", token, "people", {"Age": 30}, [{"Name": "c"}]) == 1
    assert writer.select("sqlite", token, "people", ["Age"], [{"ID": 3}]) == [{"Age": 30}]
    assert writer.query("sqlite", token, "SELECT COUNT(*) AS n FROM {t}", {"t": "people"}) == [
        {"n": 3}
    ]
    assert writer.delete("sqlite", token, "people", [{">=ID": 2}]) == 2
    with pytest.raises(BadRequest) as no_procedures:
        writer.exec("sqlite", token, "anything")
    assert no_procedures.value.error == "The sqlite driver has no stored procedures"

    owner.revoke(token, user)
    with pytest.raises(Forbidden):
        writer.select("sqlite", token, "people")
    owner.delete_user(user)
    owner.delete_connection(token)
    with pytest.raises(BadRequest) as gone:
        owner.find_connection("crm")
    assert gone.value.error == "Not Found"
    assert owner.ok() == {}
    assert all(status < 500 for status in recorder.statuses())


def test_iter_select_pages_lazily(make_client):
    client, recorder = make_client(DEMO_USERNAME, DEMO_PASSWORD)
    rows = client.iter_select("sqlite", DEMO_TOKEN, "testTable", ["ID"], ["Name"], page_size=3)
    assert next(rows) == {"Name": "David Upton"}
    selects = [a for a in recorder.answers if a[1] == "/v1/select/sqlite"]
    assert len(selects) == 1  # only the first page so far
    assert [r["Name"] for r in rows] == NAMES[1:]
    selects = [a for a in recorder.answers if a[1] == "/v1/select/sqlite"]
    assert [len(body) for _, _, _, body in selects] == [3, 3, 2]
