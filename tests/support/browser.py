"""Debian's Chromium driven by Playwright (no browser download): what the browser tests share.
conftest.py hands it out (`chromium`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sync_playwright() -> Any:
    """Playwright's sync entry point, once Chromium is known to be installed."""
    if not Path(CHROMIUM).is_file() or shutil.which("chromium") is None:
        raise FileNotFoundError(f"{CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright as entry

    return entry


def launch(playwright: Any, profile: Path, **options: Any) -> Any:
    """A persistent Chromium context on a fresh profile directory (--user-data-dir)."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, **options
    )


def watch(page: Any, base: str) -> tuple[list[str], list[str]]:
    """(problems, outside): console errors (CSP refusals among them), page errors and failed
    requests; and every request to anywhere but `base`."""
    problems: list[str] = []
    outside: list[str] = []
    page.on(
        "console",
        lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
    return problems, outside
