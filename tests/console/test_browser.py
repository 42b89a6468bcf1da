"""The console in Debian's Chromium against a served instance: the OWNER signs in, creates a
user and a connection to the live PostgreSQL through the forms, tests it, grants it, sees the
grant on the user's page, cancels a running job, finds those actions on the audit page and
signs out, with no browser console error. A screenshot of every page is saved (in
DBCONNECTOR_CONSOLE_SCREENSHOTS if set, else the test's tmp dir)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from tests.support import browser as browsers
from tests.support.app import OWNER
from tests.support.live import POSTGRES_URL, require

NEW_USER = ("analyst@example.org", "Analyst-Password-1")
WAIT_SECONDS = 30


def _postgres() -> Any:
    import psycopg

    url = make_url(POSTGRES_URL)
    psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, connect_timeout=3
    ).close()
    return url


def _running_job(service: Any, token: str, connection: str) -> str:
    status, body = service.call(
        "POST",
        "/v1/jobs/query/postgresql",
        {"token": connection, "statement": "SELECT pg_sleep(60)"},
        token,
    )
    assert status == 202, body
    _wait(service, token, body["jobId"], "running", "queued")
    return body["jobId"]


def _wait(service: Any, token: str, job: str, wanted: str, meanwhile: str) -> None:
    """Poll (bounded) until the job's status is `wanted`; only `meanwhile` may come before."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        _, state = service.call("GET", f"/v1/jobs/{job}", token=token)
        if state["status"] == wanted:
            return
        assert state["status"] == meanwhile and time.monotonic() < deadline, state
        time.sleep(0.1)


def test_an_owner_manages_the_service_in_chromium(served, tmp_path):
    sync_playwright = require("Chromium and Playwright", browsers.sync_playwright)
    url = require("PostgreSQL", _postgres)
    shots = Path(os.environ.get("DBCONNECTOR_CONSOLE_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    service = served(DBCONNECTOR_JOB_WORKERS="2")
    base = f"http://127.0.0.1:{service.port}"
    api_token = service.login(*OWNER)

    with sync_playwright() as playwright:
        browser = browsers.launch(
            playwright, tmp_path / "profile", viewport={"width": 1280, "height": 900}
        )
        page = browser.new_page()
        problems, outside = browsers.watch(page, base)

        def shot(name: str) -> None:
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        def press(name: str) -> None:
            page.get_by_role("button", name=name, exact=True).click()
            page.wait_for_load_state()

        page.goto(f"{base}/console/")
        shot("01-sign-in")
        page.get_by_label("Username").fill(OWNER[0])
        page.get_by_label("Password").fill(OWNER[1])
        press("Sign in")
        assert page.url == f"{base}/console/dashboard"
        assert page.get_by_role("heading", name="Dashboard").is_visible()
        shot("02-dashboard")

        page.get_by_role("link", name="Users").click()
        shot("03-users")
        page.get_by_role("link", name="Create user").click()
        page.get_by_label("Username").fill(NEW_USER[0])
        page.get_by_label("Password").fill(NEW_USER[1])
        page.get_by_label("Role").select_option(label="READ")
        page.get_by_label("Token lifetime").fill("5m")
        press("Create user")
        assert page.get_by_text("User created.").is_visible()
        user_page = page.url

        page.get_by_role("link", name="Connections").click()
        page.get_by_role("link", name="New PostgreSQL").click()
        shot("04-new-connection")
        page.get_by_label("Name").fill("city-postgres")
        page.get_by_label("Host").fill(url.host)
        page.get_by_label("Port").fill(str(url.port))
        page.get_by_label("Database").fill(url.database)
        page.get_by_label("User", exact=True).fill(url.username)
        page.get_by_label("Description").fill("the live PostgreSQL")
        press("Create connection")
        assert page.get_by_text("Connection created.").is_visible()
        press("Test connection")
        assert page.get_by_text("Test connection: ok").is_visible()
        connection = re.search(r"connToken ([0-9A-F-]{36})", page.inner_text("main")).group(1)
        page.get_by_label("Username").fill(NEW_USER[0])
        press("Grant")
        assert page.get_by_role("link", name=NEW_USER[0]).is_visible()
        shot("05-connection")

        page.goto(user_page)
        grants = page.get_by_role("table").last
        assert grants.get_by_role("link", name="city-postgres").is_visible()
        shot("06-user")
        page.get_by_role("link", name="Delete").click()
        assert page.get_by_text(f"Delete user {NEW_USER[0]}").is_visible()
        shot("07-confirm-delete")
        page.get_by_role("link", name="Keep it").click()

        page.get_by_role("link", name="Connections").click()
        shot("08-connections")

        job = _running_job(service, api_token, connection)
        page.get_by_role("link", name="Jobs").click()
        shot("09-jobs-running")
        page.get_by_role("row").filter(has_text=job[:8]).get_by_role(
            "button", name="Cancel job"
        ).click()
        page.wait_for_load_state()
        assert page.get_by_text("Job cancelled.").is_visible()
        _wait(service, api_token, job, "cancelled", "running")  # stopped at the database
        page.reload()
        shot("10-jobs-cancelled")

        page.get_by_role("link", name="Audit").click()
        audit = page.inner_text("main")
        for action in ("user.create", "connection.create", "grant.add", "job.cancel"):
            assert re.search(rf"{re.escape(action)}\t.*\t127\.0\.0\.1 \(console\)\tok", audit), (
                action,
                audit,
            )
        shot("11-audit")

        press("Sign out")
        assert page.url == f"{base}/console/"
        page.goto(f"{base}/console/dashboard")
        assert page.url == f"{base}/console/"  # the session is over
        assert page.get_by_role("button", name="Sign in").is_visible()
        browser.close()

    assert outside == []
    assert problems == []
    taken = sorted(path.name for path in shots.glob("*.png"))
    assert len(taken) == 11 and all((shots / name).stat().st_size > 5_000 for name in taken)
