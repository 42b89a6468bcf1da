"""The Jobs page: every user's jobs, filtered by status and user; cancel and delete through the
/v1/jobs calls, with the same audit lines."""

from __future__ import annotations

from dbconnector.lib.roles import Role
from dbconnector.store.seed import build_demo_target


def _submit(caller, token):  # type: ignore[no-untyped-def]
    answer = caller.post("/v1/jobs/select/sqlite", {"token": token, "table": "testTable"})
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()["jobId"]


def test_list_filter_cancel_and_delete(env, console_as, tmp_path):
    target = tmp_path / "targets" / "demo.db"
    build_demo_target(target)
    token = env.connection({"driver": "sqlite", "database": str(target)}, name="demo")
    user = env.user(Role.READ, username="reader@example.org")
    env.grant(token, user)
    mine, theirs = _submit(env.owner, token), _submit(user, token)  # queued: no worker threads
    browser = console_as(env)
    page = browser.get("/console/jobs").get_data(as_text=True)
    assert mine[:8] in page and theirs[:8] in page and page.count("Cancel job") == 2
    assert "<td>reader@example.org</td>" in page and "<td>demo</td>" in page
    only = browser.get("/console/jobs?user=reader@example.org").get_data(as_text=True)
    assert theirs[:8] in only and mine[:8] not in only
    nobody = browser.get("/console/jobs?user=ghost").get_data(as_text=True)
    assert "No user is named ghost." in nobody

    assert browser.post(f"/console/jobs/{theirs}/cancel").status_code == 303
    assert user.get(f"/v1/jobs/{theirs}").get_json()["status"] == "cancelled"
    cancelled = browser.get("/console/jobs?status=cancelled").get_data(as_text=True)
    assert theirs[:8] in cancelled and mine[:8] not in cancelled
    again = browser.post(f"/console/jobs/{theirs}/cancel")
    assert again.status_code == 409 and "already ended" in again.get_data(as_text=True)

    confirm = browser.get(f"/console/jobs/{mine}/delete").get_data(as_text=True)
    assert f"Delete job {mine}" in confirm
    assert env.owner.get(f"/v1/jobs/{mine}").get_json()["status"] == "queued"
    assert browser.post(f"/console/jobs/{mine}/delete").status_code == 303
    assert env.owner.get(f"/v1/jobs/{mine}").get_json()["status"] == "expired"  # results gone
    missing = browser.post("/console/jobs/not-a-job/cancel")
    assert missing.status_code == 404 and "Job not found" in missing.get_data(as_text=True)

    audit = browser.get("/console/audit?action=job.").get_data(as_text=True)
    assert audit.count("<td>job.cancel</td>") == 1 and audit.count("<td>job.delete</td>") == 1
    assert f"job_id: {theirs}" in audit
