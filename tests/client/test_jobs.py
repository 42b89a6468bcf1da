"""The client's async-job calls against a served instance with its job workers running."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from dbconnector_client import DBConnectorError

from dbconnector.store.seed import DEMO_TOKEN, TEST_TABLE_ROWS

COLUMNS = ["ID", "Name", "Address", "Sex", "Age"]
# SQLite has no sleep: a long recursive count keeps the statement running until cancelled.
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def test_a_select_job_read_page_by_page_and_as_csv_and_ndjson(make_client):
    client, _ = make_client()
    job_id = client.submit("select", "sqlite", {"token": DEMO_TOKEN, "table": "testTable"})
    state = client.wait(job_id, timeout=60, poll=0.1)
    assert (state["jobId"], state["status"], state["kind"]) == (job_id, "succeeded", "select")
    assert state["rows"] == len(TEST_TABLE_ROWS)
    (result_set,) = client.results(job_id)["resultSets"]
    assert [column["name"] for column in result_set["columns"]] == COLUMNS
    synchronous = client.select("sqlite", DEMO_TOKEN, "testTable")
    assert list(client.iter_rows(job_id, page_size=3)) == synchronous  # three pages: 3, 3, 2
    table = list(csv.reader(io.StringIO(client.download(job_id))))
    assert table[0] == COLUMNS
    assert [int(row[0]) for row in table[1:]] == [row[0] for row in TEST_TABLE_ROWS]
    lines = client.download(job_id, format="ndjson").splitlines()
    assert [json.loads(line) for line in lines] == synchronous
    assert job_id in [job["jobId"] for job in client.jobs(status="succeeded")]
    with pytest.raises(DBConnectorError) as finished:
        client.cancel(job_id)
    assert finished.value.status == 409
    client.delete_job(job_id)
    with pytest.raises(DBConnectorError) as gone:
        client.results(job_id)
    assert gone.value.status == 410


def test_a_running_job_is_cancelled_and_waited_for(make_client):
    client, _ = make_client()
    job_id = client.submit("query", "sqlite", {"token": DEMO_TOKEN, "statement": ENDLESS})
    deadline = time.monotonic() + 20
    while client.job(job_id)["status"] == "queued":  # a worker picks it up within its poll
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.job(job_id)["status"] == "running"
    assert client.cancel(job_id) == "cancelled"
    state = client.wait(job_id, timeout=30, poll=0.1)
    assert state["status"] == "cancelled"


def test_waiting_past_the_timeout_raises_and_leaves_the_job(make_client):
    client, _ = make_client()
    job_id = client.submit("query", "sqlite", {"token": DEMO_TOKEN, "statement": ENDLESS})
    with pytest.raises(TimeoutError, match=job_id):
        client.wait(job_id, timeout=0.3, poll=0.1)
    assert client.job(job_id)["status"] in ("queued", "running")
    client.delete_job(job_id)  # cancels it first: its worker stops the statement
    assert client.wait(job_id, timeout=30, poll=0.1)["status"] == "cancelled"
    with pytest.raises(DBConnectorError) as gone:
        client.results(job_id)
    assert gone.value.status == 410
