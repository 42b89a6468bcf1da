"""The Audit page: stored audit lines (who, what, when, from where, outcome), filtered by user
and action, paged; and the Dashboard's health, counts and latest failures."""

from __future__ import annotations

from dbconnector.console.pages import PAGE_SIZE
from dbconnector.lib.roles import Role
from dbconnector.store.seed import build_demo_target
from tests.support.app import OWNER


def test_lines_filter_by_user_and_action_and_page(env, console_as):
    admin = env.user(Role.ADMIN, username="admin@example.org")
    for number in range(PAGE_SIZE + 5):
        env.owner.post("/v1/connection", {"name": f"c{number}", "connectionString": {"host": "h"}})
    admin.post(
        "/v1/users", {"username": "by-admin@example.org", "password": "Pw-1234567", "role": 1}
    )
    browser = console_as(env)
    first = browser.get("/console/audit").get_data(as_text=True)
    # newest first: the sign-in, the admin's user.create, then the connections
    assert first.count("<td>connection.create</td>") == PAGE_SIZE - 2
    assert "<td>console.sign_in</td>" in first and "Older" in first
    assert "127.0.0.1 <small>(api)</small>" in first and "(console)" in first
    link = first.split('href="/console/audit?')[1].split('"')[0].replace("&amp;", "&")
    older = browser.get(f"/console/audit?{link}")
    older_html = older.get_data(as_text=True)
    assert "<td>user.create</td>" in older_html  # the users made first
    by_admin = browser.get("/console/audit?user=admin@example.org").get_data(as_text=True)
    assert by_admin.count("<td>user.create</td>") == 1 and "<td>connection.create" not in by_admin
    assert "<td>admin@example.org</td>" in by_admin
    grants = browser.get("/console/audit?action=grant.").get_data(as_text=True)
    assert "No audit lines." in grants
    unknown = browser.get("/console/audit?user=ghost").get_data(as_text=True)
    assert "No user is named ghost." in unknown and "No audit lines." in unknown


def test_the_dashboard_shows_health_counts_and_failures(env, console_as, tmp_path):
    target = tmp_path / "targets" / "demo.db"
    build_demo_target(target)
    token = env.connection({"driver": "sqlite", "database": str(target)}, name="one")
    failing = {"token": token, "statement": "SELECT * FROM no_such_table"}
    assert env.owner.post("/v1/jobs/query/sqlite", failing).status_code == 202
    env.services.jobs.run_one()
    browser = console_as(env, None)
    browser.sign_in(OWNER[0], "a-wrong-password")
    browser.sign_in(*OWNER)
    page = browser.get("/console/dashboard").get_data(as_text=True)
    assert '<th scope="row">Metadata store</th><td class="ok">ok</td>' in page
    assert "Job workers" in page and 'Flood storage</th><td class="ok">ok' in page
    assert '<th scope="row">Users</th><td class="num">1</td>' in page
    assert '<th scope="row">Connections</th><td class="num">1</td>' in page
    assert "console.sign_in refused" in page
    assert "no such table: no_such_table" in page  # the job's error, unsealed
    assert '<th scope="row">Jobs failed</th><td class="num">1</td>' in page


def test_the_dashboard_says_when_flood_counting_fell_back_to_memory(make_env, console_as):
    # Nothing listens on port 1: Flask-Limiter counts in its in-memory fallback.
    env = make_env(ratelimit_storage_url="redis://127.0.0.1:1/0")
    page = console_as(env).get("/console/dashboard").get_data(as_text=True)
    assert "Flood storage</th><td" in page
    assert "degraded: counting in this process&#39;s memory" in page
