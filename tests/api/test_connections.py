"""Connection strings and grants: shapes, encryption at rest, credential masking, permissions."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from dbconnector.auth.roles import Role
from dbconnector.store.tables import connections

CONN = {
    "host": "MSSQL_CMDB",
    "port": "1433",
    "schema": "dbo",
    "database": "CMDB",
    "user": "myUser",
    "password": "myPassword",
}
RECORD_KEYS = {
    "ID",
    "Token",
    "Name",
    "Description",
    "ConnectionString",
    "Enabled",
    "Count",
    "LastUse",
}


def test_create_returns_conntoken_and_admin_sees_whole_record(env):
    response = env.owner.post(
        "/v1/connection",
        {"connectionString": json.dumps(CONN), "name": "cmdb", "description": "CMDB (mssql)"},
    )
    assert response.status_code == 201
    token = response.get_json()["connToken"]
    assert len(token) == 36 and token == token.upper()
    record = env.owner.get(f"/v1/connections/{token}").get_json()
    assert record == [
        {
            "ID": 1,
            "Token": token,
            "Name": "cmdb",
            "Description": "CMDB (mssql)",
            "ConnectionString": json.dumps(CONN),
            "Enabled": True,
            "Count": 0,
            "LastUse": None,
        }
    ]


def test_connection_string_may_be_an_object(env):
    token = env.connection({"host": "h", "password": "p"}, name="obj")
    record = env.owner.get(f"/v1/connections/{token}").get_json()[0]
    assert json.loads(record["ConnectionString"]) == {"host": "h", "password": "p"}


def test_connection_string_is_encrypted_at_rest(env):
    env.connection(CONN, name="secret-one")
    with env.services.engine.connect() as conn:
        stored = conn.execute(select(connections.c.secret)).scalar_one()
    assert "myPassword" not in stored and "MSSQL_CMDB" not in stored and "myUser" not in stored
    assert stored.startswith("gAAAA")  # a Fernet token


def test_list_connections_sorted_and_paged(env):
    tokens = [env.connection(name=f"c{i}") for i in range(3)]
    everything = env.owner.get("/v1/connections").get_json()
    assert [c["Token"] for c in everything] == tokens
    assert all(set(c) == RECORD_KEYS for c in everything)
    assert [c["Name"] for c in env.owner.get("/v1/connections?page=1&limit=2").get_json()] == ["c2"]


def test_find_returns_the_conntoken_for_any_user(env):
    token = env.connection(name="findme")
    reader = env.user(Role.READ)
    response = reader.get("/v1/connections/find/findme")
    assert response.status_code == 200 and response.get_json() == {"connToken": token}
    missing = reader.get("/v1/connections/find/nope")
    assert missing.status_code == 400 and missing.get_json() == {"error": "Not Found"}


@pytest.mark.parametrize("prefix", ["/v1/connections", "/v1/connection"])
def test_a_name_segment_is_the_name_lookup(env, prefix):
    """The specification's Flow, step 2: GET /v1/connections/:name gives the connToken, with the
    permission of /find/:name (any authenticated user, granted or not)."""
    token = env.connection(name="demo")
    reader = env.user(Role.READ)  # holds no grant on it
    for caller in (reader, env.owner):
        by_segment = caller.get(f"{prefix}/demo")
        by_find = caller.get(f"{prefix}/find/demo")
        assert by_segment.status_code == by_find.status_code == 200
        assert by_segment.get_json() == by_find.get_json() == {"connToken": token}
    missing = reader.get(f"{prefix}/nope")
    assert missing.status_code == 400 and missing.get_json() == {"error": "Not Found"}
    assert env.anon.get(f"{prefix}/demo").get_json() == {"error": "Missing Authentication Token"}
    # a UUID segment is still a connToken: the record, and the grant rule with it
    assert reader.get(f"{prefix}/{token}").status_code == 403
    assert env.owner.get(f"{prefix}/{token}").get_json()[0]["Name"] == "demo"


UUID_NAMES = ["45826BE6-1E29-CC64-B49E-550B9610C2EA", " 45826be6-1e29-cc64-b49e-550b9610c2ea "]
UUID_NAME_ERROR = {"error": "name must not look like a connToken (a UUID)"}


@pytest.mark.parametrize("name", UUID_NAMES)
def test_a_name_that_looks_like_a_conntoken_is_refused(env, name):
    response = env.owner.post("/v1/connection", {"name": name, "connectionString": CONN})
    assert response.status_code == 400 and response.get_json() == UUID_NAME_ERROR
    assert env.owner.get("/v1/connections").get_json() == []
    token = env.connection(name="plain")
    renamed = env.owner.patch(f"/v1/connections/{token}", {"name": name})
    assert renamed.status_code == 400 and renamed.get_json() == UUID_NAME_ERROR
    assert env.owner.get(f"/v1/connections/{token}").get_json()[0]["Name"] == "plain"


def test_granted_user_sees_connection_without_credentials_or_location(env):
    """Below ADMIN neither credentials nor host, port and database: no host leaves the network."""
    token = env.connection(CONN, name="cmdb")
    user = env.user(Role.READ)
    assert user.get(f"/v1/connections/{token}").status_code == 403
    env.grant(token, user)
    record = user.get(f"/v1/connections/{token}").get_json()[0]
    shown = json.loads(record["ConnectionString"])
    hidden = ("host", "port", "database", "user", "password")
    assert shown == {**CONN, **dict.fromkeys(hidden, "*****")}
    for secret in (b"myPassword", b"MSSQL_CMDB", b"CMDB", b"1433"):
        assert secret not in user.get(f"/v1/connections/{token}").data
        assert secret not in user.get(f"/v1/users/{user.userid}/connections").data
    (as_owner,) = env.owner.get(f"/v1/connections/{token}").get_json()
    assert json.loads(as_owner["ConnectionString"]) == CONN
    admin = env.user(Role.ADMIN)
    (as_admin,) = admin.get(f"/v1/connections/{token}").get_json()
    assert json.loads(as_admin["ConnectionString"]) == CONN


def test_user_connections_lists_grants_in_spec_shape(env):
    token = env.connection(CONN, name="cmdb", description="Updated Dummy")
    user = env.user(Role.READ)
    env.grant(token, user)
    mine = user.get(f"/v1/users/{user.userid}/connections").get_json()
    assert len(mine) == 1
    entry = mine[0]
    assert {
        "Username",
        "userid",
        "connid",
        "Token",
        "ConnectionString",
        "Description",
        "Enabled",
        "Count",
        "LastUse",
    } <= set(entry)
    assert (entry["Username"], entry["userid"], entry["connid"], entry["Token"]) == (
        user.username,
        user.userid,
        1,
        token,
    )
    assert json.loads(entry["ConnectionString"])["password"] == "*****"
    as_admin = env.owner.get(f"/v1/users/{user.username}/connections").get_json()[0]
    assert json.loads(as_admin["ConnectionString"])["password"] == "myPassword"
    other = env.user(Role.READ)
    assert other.get(f"/v1/users/{user.userid}/connections").status_code == 403


def test_connection_users_lists_granted_users(env):
    token = env.connection()
    a, b = env.user(Role.READ), env.user(Role.ALTER)
    env.grant(token, a)
    env.grant(token, b)
    env.grant(token, a)  # idempotent
    users = env.owner.get(f"/v1/connection/{token}/users").get_json()
    assert [u["ID"] for u in users] == [a.userid, b.userid]
    assert all(u["Password"] == "*****" for u in users)


def test_revoke_removes_the_grant(env):
    token = env.connection()
    user = env.user(Role.READ)
    env.grant(token, user)
    assert user.get(f"/v1/connections/{token}").status_code == 200
    response = env.owner.delete(f"/v1/connection/{token}/user/{user.userid}")
    assert response.status_code == 200 and response.get_json() == {}
    assert user.get(f"/v1/connections/{token}").status_code == 403
    assert env.owner.get(f"/v1/connection/{token}/users").get_json() == []


def test_patch_connection_keeps_the_token(env):
    token = env.connection(CONN, name="before")
    response = env.owner.patch(
        f"/v1/connections/{token}",
        {
            "name": "after",
            "description": "d",
            "enabled": 0,
            "connectionString": json.dumps({**CONN, "password": "rotated"}),
        },
    )
    assert response.status_code == 200 and response.get_json() == {}
    record = env.owner.get(f"/v1/connections/{token}").get_json()[0]
    assert (record["Token"], record["Name"], record["Description"], record["Enabled"]) == (
        token,
        "after",
        "d",
        False,
    )
    assert json.loads(record["ConnectionString"])["password"] == "rotated"


def test_duplicate_name_is_400_on_create_and_rename(env):
    env.connection(name="taken")
    other = env.connection(name="free")
    response = env.owner.post("/v1/connection", {"connectionString": "{}", "name": "taken"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "A connection with that name already exists."}
    assert env.owner.patch(f"/v1/connections/{other}", {"name": "taken"}).status_code == 400
    assert len(env.owner.get("/v1/connections").get_json()) == 2


@pytest.mark.parametrize(
    "body, message",
    [
        ({"name": "x"}, "Missing connectionString in payload"),
        ({"connectionString": "{}"}, "Missing name in payload"),
        ({"connectionString": "not json", "name": "x"}, "connectionString must be a JSON object"),
        ({"connectionString": "[1]", "name": "x"}, "connectionString must be a JSON object"),
        (
            {"connectionString": 5, "name": "x"},
            "connectionString must be a JSON object or a string holding one",
        ),
        (
            {"connectionString": {"host": "h", "pasword": "p"}, "name": "x"},
            "connectionString has unknown keys (pasword); allowed: database, driver, host, "
            "options, password, port, schema, server, user, username",
        ),
        (
            {"connectionString": {"port": "high"}, "name": "x"},
            "connectionString.port must be a port number",
        ),
        ({"connectionString": {"host": 5}, "name": "x"}, "connectionString.host must be a string"),
        ({"connectionString": "{}", "name": "x" * 101}, "name must be 1 to 100 characters"),
        ({"connectionString": "{}", "name": ""}, "name must be 1 to 100 characters"),
    ],
)
def test_invalid_connection_is_400_and_saves_nothing(env, body, message):
    response = env.owner.post("/v1/connection", body)
    assert response.status_code == 400
    assert response.get_json() == {"error": message}
    assert env.owner.get("/v1/connections").get_json() == []


def test_unknown_and_malformed_tokens(env):
    unknown = "00000000-0000-0000-0000-000000000000"
    for method in ("GET", "PATCH", "DELETE"):
        response = env.owner.call(method, f"/v1/connections/{unknown}", json={"name": "n"})
        assert response.status_code == 400
        assert response.get_json() == {"error": "connToken not found"}
    for method in ("PATCH", "DELETE"):
        response = env.owner.call(method, "/v1/connections/not-a-token", json={"name": "n"})
        assert response.status_code == 400
        assert response.get_json() == {"error": "malformed connToken"}
    assert env.owner.post(f"/v1/connection/{unknown}/user/1").get_json() == {
        "error": "connToken not found"
    }


def test_tokens_match_case_insensitively(env):
    token = env.connection()
    assert env.owner.get(f"/v1/connections/{token.lower()}").get_json()[0]["Token"] == token


def test_grant_to_unknown_user_is_not_found(env):
    token = env.connection()
    response = env.owner.post(f"/v1/connection/{token}/user/999")
    assert response.status_code == 400 and response.get_json() == {"error": "Not Found"}


def test_delete_connection_removes_it_and_grants(env):
    token = env.connection()
    user = env.user(Role.READ)
    env.grant(token, user)
    assert env.owner.delete(f"/v1/connections/{token}").get_json() == {}
    assert env.owner.get(f"/v1/connections/{token}").get_json() == {"error": "connToken not found"}
    assert user.get(f"/v1/users/{user.userid}/connections").get_json() == []


def test_singular_and_plural_paths(env):
    token = env.connection()
    user = env.user(Role.READ)
    assert env.owner.post(f"/v1/connections/{token}/users/{user.userid}").status_code == 201
    assert env.owner.get(f"/v1/connections/{token}/users").status_code == 200
    assert env.owner.get(f"/v1/connection/{token}").status_code == 200
    assert env.owner.get("/v1/connection").status_code == 200
    assert env.owner.patch(f"/v1/connection/{token}", {"description": "x"}).status_code == 200
    assert env.owner.delete(f"/v1/connections/{token}/users/{user.userid}").status_code == 200
    assert (
        env.owner.post("/v1/connections", {"connectionString": "{}", "name": "p"}).status_code
        == 201
    )
    assert env.owner.delete(f"/v1/connection/{token}").status_code == 200


# --- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.READ, Role.ALTER, Role.FULL])
def test_non_admins_cannot_administer_connections(env, role):
    token = env.connection()
    user = env.user(role)
    env.grant(token, user)
    calls = [
        ("GET", "/v1/connections", None),
        ("POST", "/v1/connection", {"connectionString": "{}", "name": "mine"}),
        ("PATCH", f"/v1/connections/{token}", {"name": "hijack"}),
        ("DELETE", f"/v1/connections/{token}", None),
        ("GET", f"/v1/connection/{token}/users", None),
        ("DELETE", f"/v1/connection/{token}/user/{user.userid}", None),
    ]
    for method, path, body in calls:
        response = user.call(method, path, json=body)
        assert response.status_code == 403, (method, path)
        assert response.get_json() == {}
    assert env.owner.get(f"/v1/connections/{token}").get_json()[0]["Name"] != "hijack"


def test_read_user_cannot_grant(env):
    token = env.connection()
    reader, other = env.user(Role.READ), env.user(Role.READ)
    env.grant(token, reader)
    response = reader.post(f"/v1/connection/{token}/user/{other.userid}")
    assert response.status_code == 403 and response.get_json() == {}


@pytest.mark.parametrize("role", [Role.ALTER, Role.FULL])
def test_full_and_super_users_grant_only_what_they_hold(env, role):
    mine, theirs = env.connection(), env.connection()
    granter, other = env.user(role), env.user(Role.READ)
    env.grant(mine, granter)
    assert granter.post(f"/v1/connection/{mine}/user/{other.userid}").status_code == 201
    assert other.get(f"/v1/connections/{mine}").status_code == 200
    response = granter.post(f"/v1/connection/{theirs}/user/{other.userid}")
    assert response.status_code == 403 and response.get_json() == {}


def test_admin_may_use_any_connection_record(env):
    token = env.connection(CONN)
    admin = env.user(Role.ADMIN)
    record = admin.get(f"/v1/connections/{token}").get_json()[0]
    assert json.loads(record["ConnectionString"])["password"] == "myPassword"


def test_connection_sealed_with_another_key_gives_a_clear_500(env):
    from sqlalchemy import update

    from dbconnector.store.secrets import SecretBox

    token = env.connection(CONN, name="old-key")
    other = SecretBox("a-different-secret-key-0123456789").seal(json.dumps(CONN))
    with env.services.engine.begin() as conn:
        conn.execute(update(connections).values(secret=other))
    for response in (env.owner.get("/v1/connections"), env.owner.get(f"/v1/connections/{token}")):
        assert response.status_code == 500
        assert response.get_json() == {
            "error": "A stored connection string cannot be decrypted: "
            "was DBCONNECTOR_SECRET_KEY changed without listing the old key in"
            " DBCONNECTOR_PREVIOUS_SECRET_KEYS?"
        }


def test_fractional_numbers_in_a_connection_string_are_stored(env, tmp_path):
    # Found by schemathesis: JSON numbers arrive as Decimal and the store could not serialise them.
    token = env.connection(
        {
            "driver": "sqlite",
            "database": str(tmp_path / "x.db"),
            "options": {"statement_timeout": 1.5},
        }
    )
    shown = env.owner.get(f"/v1/connections/{token}").get_json()[0]["ConnectionString"]
    assert '"statement_timeout": 1.5' in shown or '"statement_timeout":1.5' in shown
