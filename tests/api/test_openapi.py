"""GET /v1/openapi.json: every endpoint documented, from the schemas that validate requests."""

from __future__ import annotations


def test_openapi_document_lists_every_route_but_the_consoles_pages(env):
    response = env.client.get("/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    routes = {
        rule.rule.replace("<", "{").replace(">", "}")
        for rule in env.app.url_map.iter_rules()
        if not rule.rule.startswith("/console/")
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


def test_every_operation_documents_its_success_body_and_errors(env):
    """A new endpoint must say what it answers (@responds); errors are JSON {"error": ...}, 403 is
    {}, and flood-checked operations document {"error": "No Data"} beside their success body."""
    doc = env.client.get("/v1/openapi.json").get_json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = responses.get("201") or responses["200"]
            assert success.get("content"), f"{method.upper()} {path} has no documented body"
            assert responses["403"]["content"]["application/json"]["schema"]["maxProperties"] == 0
            assert list(responses["414"]["content"]) == ["text/html"]  # from gunicorn
            for status in ("400", "401", "404", "405", "413", "415", "500", "503"):
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema["required"] == ["error"]
            flooded = "security" in operation or path.startswith("/v1/auth")
            answer = responses["200"]["content"].get("application/json", {}).get("schema", {})
            alternatives = answer.get("anyOf", [answer])
            no_data = {"type": "string", "enum": ["No Data"]}
            assert flooded == any(
                alt.get("properties", {}).get("error") == no_data for alt in alternatives
            ), f"{method.upper()} {path}"
    metrics = doc["paths"]["/admin/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
