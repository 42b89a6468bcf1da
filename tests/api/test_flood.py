"""Flood control: per user on authenticated calls, per address and per username on /v1/auth."""

from __future__ import annotations

from dbconnector.lib.roles import Role
from tests.support.app import OWNER, Caller


def test_user_over_its_limit_gets_200_no_data_with_retry_after(make_env):
    env = make_env(ratelimit="3/minute")
    user = env.user(Role.READ)
    for _ in range(3):
        assert user.get(f"/v1/users/{user.userid}").status_code == 200
    response = user.get(f"/v1/users/{user.userid}")
    assert response.status_code == 200
    assert response.get_json() == {"error": "No Data"}
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # counted per user: another user is unaffected
    other = env.user(Role.READ)
    assert other.get(f"/v1/users/{other.userid}").get_json()[0]["ID"] == other.userid


def test_flood_status_is_configurable(make_env):
    env = make_env(ratelimit="1/minute", flood_status=429)
    user = env.user(Role.READ)
    user.get(f"/v1/users/{user.userid}")
    response = user.get(f"/v1/users/{user.userid}")
    assert response.status_code == 429 and response.get_json() == {"error": "No Data"}


def test_login_limited_per_client_address(make_env):
    env = make_env(auth_ratelimit="2/minute")
    attacker = Caller(env.client, addr="203.0.113.7")
    for name in ("a@x", "b@x"):
        assert (
            attacker.post("/v1/auth", {"username": name, "password": "whatever1"}).status_code
            == 401
        )
    response = attacker.post("/v1/auth", {"username": "c@x", "password": "whatever1"})
    assert response.status_code == 200 and response.get_json() == {"error": "No Data"}
    assert "Retry-After" in response.headers
    # the right password does not get through a flooded address either
    assert attacker.post("/v1/auth", {"username": OWNER[0], "password": OWNER[1]}).get_json() == {
        "error": "No Data"
    }
    assert Caller(env.client, addr="203.0.113.8").login(*OWNER).token


def test_login_limited_per_username_across_addresses(make_env):
    env = make_env(auth_ratelimit="2/minute")
    for i in range(2):
        Caller(env.client, addr=f"198.51.100.{i}").post(
            "/v1/auth", {"username": "victim@x", "password": "guess-guess"}
        )
    response = Caller(env.client, addr="198.51.100.99").post(
        "/v1/auth", {"username": "victim@x", "password": "guess-guess"}
    )
    assert response.get_json() == {"error": "No Data"}


def test_refresh_is_limited_per_address(make_env):
    env = make_env(auth_ratelimit="1/minute")
    # the fixture's own login used 127.0.0.1's one call
    response = env.owner.post("/v1/auth/refresh", {"refresh_token": env.owner.refresh_token})
    assert response.get_json() == {"error": "No Data"}


def test_unreachable_redis_falls_back_to_memory_and_still_limits(make_env, caplog):
    # Nothing listens on port 1: every Redis call is refused at once.
    env = make_env(ratelimit="2/minute", ratelimit_storage_url="redis://127.0.0.1:1/0")
    user = env.user(Role.READ)
    path = f"/v1/users/{user.userid}"
    assert [user.get(path).status_code for _ in range(2)] == [200, 200]
    assert user.get(path).get_json() == {"error": "No Data"}  # still limited, in memory
    # Flask-Limiter's in-memory fallback took over, and said so once, not per call
    assert caplog.text.count("Rate limit storage unreachable") == 1
