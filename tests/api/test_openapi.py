"""GET /v1/openapi.json: every endpoint documented, from the schemas that validate requests."""

from __future__ import annotations


def test_openapi_document_lists_every_route(env):
    response = env.client.get("/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    routes = {
        rule.rule.replace("<", "{").replace(">", "}") for rule in env.app.url_map.iter_rules()
    }
    assert routes == set(doc["paths"])
    assert {"/v1/auth", "/v1/users/{identifier}", "/v1/connection/{token}/user/{userid}"} <= routes


def test_openapi_request_bodies_come_from_the_schemas(env):
    doc = env.client.get("/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    create = doc["paths"]["/v1/users"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    user_create = schemas[ref.rsplit("/", 1)[1]]
    assert set(user_create["required"]) == {"username", "password", "role"}
    assert user_create["properties"]["username"]["maxLength"] == 100
    assert create["x-roles"] == "ADMIN | OWNER"
    auth = doc["paths"]["/v1/auth"]["post"]
    assert "security" not in auth
    listing = doc["paths"]["/v1/users"]["get"]
    assert {p["name"] for p in listing["parameters"] if p["in"] == "query"} == {"page", "limit"}
