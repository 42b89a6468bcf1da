"""Rewrite the settings table of docs/operations.md from config.py's declarations.

    .venv/bin/python scripts/settings_table.py

tests/test_config.py fails while the page and the declarations disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dbconnector.config import markdown_table

PAGE = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
HEADER = "| variable | default | meaning |"


def rewritten(text: str) -> str:
    """`text` with the table that starts at HEADER replaced by the declared one."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(HEADER))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "".join(lines[:start]) + markdown_table() + "".join(lines[end:])


def main() -> int:
    text = PAGE.read_text()
    new = rewritten(text)
    if new != text:
        PAGE.write_text(new)
        print(f"rewrote the settings table of {PAGE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
