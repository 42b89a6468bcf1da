"""GET /v1/docs: Swagger UI from packaged assets under its own Content-Security-Policy, checked
in process and then in headless Chromium against a served instance."""

from __future__ import annotations

import re
from typing import Any

from dbconnector.api.docs import DOCS_POLICY
from dbconnector.store.seed import DEMO_PASSWORD, DEMO_USERNAME
from tests.support import browser as browsers
from tests.support.live import require

TAGS = ["auth", "users", "connections", "execution", "jobs", "admin", "docs"]


def _policies(response: Any) -> list[str]:
    return response.headers.getlist("Content-Security-Policy")


def test_the_page_has_its_own_policy_and_only_local_assets(env):
    page = env.client.get("/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert _policies(page) == [DOCS_POLICY]
    assert "script-src 'self';" in DOCS_POLICY and "'unsafe-inline'" not in DOCS_POLICY
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets == [
        "data:,",
        "/v1/docs/swagger-ui.css",
        "/v1/docs/swagger-ui-bundle.js",
        "/v1/docs/docs.js",
    ]
    assert "<script>" not in html  # no inline script: the policy would refuse it
    kinds = {"css": "text/css", "js": "text/javascript"}
    for asset in assets[1:]:
        answer = env.client.get(asset)
        assert answer.status_code == 200 and answer.content_length > 100
        assert answer.mimetype == kinds[asset.rsplit(".", 1)[1]]
        assert answer.headers["Cache-Control"] == "public, max-age=3600"
    # every other answer keeps the JSON-only policy, once
    assert _policies(env.client.get("/admin/ok")) == ["default-src 'none'; frame-ancestors 'none'"]
    assert env.client.get("/v1/docs/other.js").status_code == 404


def test_the_document_groups_and_explains_every_operation(env):
    doc = env.client.get("/v1/openapi.json").get_json()
    assert [tag["name"] for tag in doc["tags"]] == TAGS
    operations = [op for ops in doc["paths"].values() for op in ops.values()]
    assert {op["tags"][0] for op in operations} == set(TAGS)
    select = doc["paths"]["/v1/select/{driver}"]["post"]
    assert select["tags"] == ["execution"]
    assert "Permission: READ | ALTER | FULL | ADMIN | OWNER." in select["description"]
    assert '{"error": "This connection is disabled"}' in select["description"]
    examples = select["requestBody"]["content"]["application/json"]["examples"]
    assert examples["or"]["value"]["filter"] == [{"Name": "a"}, {"^Name": "b"}, {"^Name": "c"}]
    assert {"all", "paged", "equals", "like", "in", "null", "compare", "group"} <= set(examples)
    rows = select["responses"]["200"]["content"]["application/json"]["example"]
    assert len(rows) == 8 and rows[0]["Name"] == "David Upton"
    refused = select["responses"]["400"]["content"]["application/json"]["examples"]
    assert {"error": "Paged query must have sort/order"} in [e["value"] for e in refused.values()]
    login = doc["paths"]["/v1/auth"]["post"]
    assert login["tags"] == ["auth"] and "Invalid username or password" in login["description"]
    for op in operations:
        if "security" in op:
            assert "Permission:" in op["description"] and "Errors:" in op["description"]


def test_the_page_renders_in_chromium_and_tries_a_call(served, tmp_path):
    sync_playwright = require("Chromium and Playwright", browsers.sync_playwright)
    service = served()
    base = f"http://127.0.0.1:{service.port}"
    status, doc = service.call("GET", "/v1/openapi.json")
    assert status == 200
    expected_operations = sum(len(ops) for ops in doc["paths"].values())
    token = service.login(DEMO_USERNAME, DEMO_PASSWORD)

    with sync_playwright() as playwright:
        browser = browsers.launch(
            playwright, tmp_path / "profile", viewport={"width": 1280, "height": 2000}
        )
        page = browser.new_page()
        problems, outside = browsers.watch(page, base)

        page.goto(f"{base}/v1/docs", wait_until="networkidle")
        page.wait_for_selector(".opblock", timeout=30_000)
        tags = page.locator(".opblock-tag").all_inner_texts()
        assert [text.split("\n")[0].strip() for text in tags] == TAGS
        assert page.locator(".opblock").count() == expected_operations
        paths = set(page.locator(".opblock-summary-path").all_inner_texts())
        assert {"/v1/select/{driver}", "/v1/connections/find/{name}", "/v1/docs"} <= {
            p.replace("\u200b", "") for p in paths
        }

        # "Authorize" with a bearer token, then expand /v1/select and try it on the demo
        page.click("button.authorize")
        page.fill(".auth-container input", token)
        page.click(".auth-btn-wrapper button.authorize")
        page.click("button.btn-done")
        select = page.locator("#operations-execution-post_v1_select__driver_")
        select.locator(".opblock-summary").click()
        select.locator(".opblock-body").wait_for()
        assert "Every row of testTable" in select.inner_text()
        page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
        select.locator("button.try-out__btn").click()
        select.locator('input[placeholder="driver"]').fill("sqlite")
        select.locator("button.execute").click()
        answer = select.locator(".live-responses-table .response-col_description pre")
        answer.first.wait_for(timeout=30_000)
        shown = answer.first.inner_text()
        browser.close()

    assert (tmp_path / "docs.png").stat().st_size > 10_000
    assert '"David Upton"' in shown and '"Jeanethe Falvey"' in shown
    assert outside == []
    assert problems == []
