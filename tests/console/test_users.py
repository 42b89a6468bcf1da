"""The Users pages: list and search, create, edit, enable/disable, new password, delete (after
a confirmation page), grants on a user's page; the REST API's rules and audit lines."""

from __future__ import annotations

import re

from dbconnector.lib.roles import Role
from tests.support.app import OWNER

FORM = {"role": "1", "enabled": "1", "ipaddresses": "", "ttl": ""}


def _user(env, username):  # type: ignore[no-untyped-def]
    found = env.owner.get(f"/v1/users/{username}")
    return found.get_json()[0] if found.status_code == 200 else None


def test_create_edit_and_delete_a_user(env, console_as):
    browser = console_as(env)
    form = browser.get("/console/users/new").get_data(as_text=True)
    for label in ("Username", "Password", "Role", "Enabled", "IP addresses", "Token lifetime"):
        assert re.search(rf'<label for="(\w[\w-]*)">{label}</label>', form), label
    assert "Create user" in form
    made = browser.post(
        "/console/users/new",
        {**FORM, "username": "ann@example.org", "password": "Ann-Password-1", "ttl": "90s"},
    )
    assert made.status_code == 303
    ann = _user(env, "ann@example.org")
    assert (ann["Role"], ann["Enabled"], ann["TTL"]) == (1, True, "90s")
    assert made.headers["Location"] == f"/console/users/{ann['ID']}"
    assert env.anon.login("ann@example.org", "Ann-Password-1")

    page = browser.get(made.headers["Location"]).get_data(as_text=True)
    assert "User created." in page and 'value="ann@example.org"' in page
    edit = {**FORM, "username": "ann@example.org", "role": "4", "ipaddresses": "10.0.0.0/8"}
    del edit["enabled"]  # an unticked box: disable
    assert browser.post(f"/console/users/{ann['ID']}", {**edit, "password": ""}).status_code == 303
    ann = _user(env, "ann@example.org")
    assert (ann["Role"], ann["Enabled"], ann["IPAddresses"]) == (4, False, "10.0.0.0/8")
    # the empty password kept the old one; a given one replaces it
    edit = {**FORM, "username": "ann@example.org", "password": "Ann-Password-2"}
    assert browser.post(f"/console/users/{ann['ID']}", edit).status_code == 303
    assert env.anon.login("ann@example.org", "Ann-Password-2")

    confirm = browser.get(f"/console/users/{ann['ID']}/delete")
    assert confirm.status_code == 200 and "Delete user ann@example.org" in confirm.get_data(
        as_text=True
    )
    assert _user(env, "ann@example.org") is not None  # asking changed nothing
    gone = browser.post(f"/console/users/{ann['ID']}/delete")
    assert gone.status_code == 303 and gone.headers["Location"] == "/console/users"
    assert _user(env, "ann@example.org") is None

    audit = browser.get("/console/audit?action=user.").get_data(as_text=True)
    for action in ("user.create", "user.update", "user.delete"):
        assert f"<td>{action}</td>" in audit
    assert "(console)" in audit and "(api)" not in audit


def test_bad_input_is_shown_on_the_form_and_changes_nothing(env, console_as):
    browser = console_as(env)
    for form, message in [
        ({**FORM, "username": "", "password": "Long-Password-1"}, "username"),
        ({**FORM, "username": "short@example.org", "password": "x"}, "password must be"),
        (
            {**FORM, "username": "ips@example.org", "password": "Pw-123456", "ipaddresses": "nope"},
            "ipaddresses",
        ),
        ({**FORM, "username": "ttl@example.org", "password": "Pw-123456", "ttl": "1h"}, "ttl"),
        ({**FORM, "username": OWNER[0], "password": "Pw-123456"}, "Username already exists."),
    ]:
        answer = browser.post("/console/users/new", form)
        html = answer.get_data(as_text=True)
        assert answer.status_code == 400 and message in html, (form, html[-800:])
        assert 'role="alert"' in html and "Traceback" not in html
    assert [u["Username"] for u in env.owner.get("/v1/users").get_json()] == [OWNER[0]]


def test_nobody_grants_above_their_own_role_and_the_last_owner_stays(env, console_as):
    env.user(Role.ADMIN, username="admin@example.org")
    admin = console_as(env, "admin@example.org", "User-Password-1")
    roles = admin.get("/console/users/new").get_data(as_text=True)
    assert ">OWNER</option>" not in roles and ">ADMIN</option>" in roles
    refused = admin.post(
        "/console/users/new",
        {**FORM, "username": "boss@example.org", "password": "Boss-Password-1", "role": "4096"},
    )
    assert refused.status_code == 403 and "Not allowed." in refused.get_data(as_text=True)
    assert _user(env, "boss@example.org") is None
    owner_id = _user(env, OWNER[0])["ID"]
    assert admin.post(f"/console/users/{owner_id}/delete").status_code == 403

    owner = console_as(env)
    last = owner.post(f"/console/users/{owner_id}", {**FORM, "username": OWNER[0], "role": "2048"})
    assert last.status_code == 400
    assert "The last enabled OWNER" in last.get_data(as_text=True)
    assert _user(env, OWNER[0])["Role"] == 4096


def test_the_list_pages_and_searches(env, console_as):
    for number in range(60):
        assert (
            env.owner.post(
                "/v1/users",
                {
                    "username": f"bulk{number:02d}@example.org",
                    "password": "Bulk-Password-1",
                    "role": 1,
                },
            ).status_code
            == 201
        )
    browser = console_as(env)
    first = browser.get("/console/users").get_data(as_text=True)
    assert "61 users." in first and "Page 1 of 2" in first and first.count("<tr>") == 51
    second = browser.get("/console/users?page=1").get_data(as_text=True)
    assert "bulk59@example.org" in second and "bulk00@example.org" not in second
    found = browser.get("/console/users?q=bulk4").get_data(as_text=True)
    assert "10 users matching" in found and "bulk41@example.org" in found
    assert "<td>READ</td>" in found
    odd = browser.get("/console/users?q=%25_").get_data(as_text=True)  # LIKE wildcards are text
    assert "0 users matching" in odd


def test_grants_on_a_users_page(env, console_as):
    user = env.user(Role.READ, username="reader@example.org")
    env.connection(name="sales")
    browser = console_as(env)
    page = browser.get(f"/console/users/{user.userid}").get_data(as_text=True)
    assert "No grants." in page
    assert (
        browser.post(f"/console/users/{user.userid}/grants", {"connection": "sales"}).status_code
        == 303
    )
    page = browser.get(f"/console/users/{user.userid}").get_data(as_text=True)
    assert ">sales</a>" in page and "Revoke" in page
    rest = user.get(f"/v1/users/{user.userid}/connections").get_json()
    assert [row["Name"] for row in rest] == ["sales"]
    missing = browser.post(f"/console/users/{user.userid}/grants", {"connection": "nope"})
    assert missing.status_code == 400 and "No connection is named" in missing.get_data(as_text=True)
    token = rest[0]["Token"]
    assert browser.post(f"/console/users/{user.userid}/grants/{token}/revoke").status_code == 303
    assert user.get(f"/v1/users/{user.userid}/connections").get_json() == []
