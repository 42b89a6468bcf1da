"""`make layout`: the package's floor plan holds (docs/design.md, "Layout").

Fails (exit 1, one line per breach) on:
- an import cycle between modules of dbconnector (every import counts, lazy ones in functions
  too; only `if TYPE_CHECKING:` blocks are left out, since they never run);
- an import that points up the layering: drivers/ and sql/ never import api/ or web/, nor api/
  or web/ drivers/ or sql/ (views go one line into execution/), the console (a door beside the
  API) never imports api/, nothing below them imports manage/ (the admin operations), store/
  never imports drivers/, execution/ or api/, telemetry/ and lib/ import nothing that is not a
  leaf, and nothing below web/ imports web/;
- more than five modules directly in dbconnector/.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "dbconnector"
MAX_TOP_MODULES = 5
# package -> packages (or top-level modules) it must never import
FORBIDDEN = {
    "drivers": {"api", "web", "console", "manage", "execution", "store", "auth", "app_state"},
    "sql": {
        "api",
        "web",
        "console",
        "manage",
        "execution",
        "store",
        "drivers",
        "auth",
        "app_state",
    },
    "store": {"api", "web", "console", "manage", "execution", "drivers", "app_state"},
    "execution": {"api", "web", "console", "manage"},
    "auth": {"api", "web", "console", "manage", "execution", "drivers"},
    "api": {"web", "console", "drivers", "sql"},
    # The console is a door beside the API: it reaches the same operations through manage/,
    # execution/ and auth/, never through the API's views (only its request schemas: PARSERS).
    "console": {"web", "api", "drivers", "sql"},
    "manage": {"web", "api", "console"},
    "web": {"drivers", "sql"},
    "telemetry": {
        "api",
        "web",
        "console",
        "manage",
        "execution",
        "store",
        "drivers",
        "sql",
        "auth",
        "app_state",
    },
    "lib": {
        "api",
        "web",
        "console",
        "manage",
        "execution",
        "store",
        "drivers",
        "sql",
        "auth",
        "app_state",
        "telemetry",
        "errors",
        "config",
    },
    "errors": {"*"},
    "config": {"*"},
}
# What a room marked "*" may still import: leaves that import nothing of ours.
LEAVES = {"lib"}
# Modules of a banned room a room may still import: the console parses its forms with the API's
# request schemas, so both doors give the same messages.
PARSERS = {"console": {"dbconnector.api.schemas"}}


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The dbconnector modules that module `name` imports."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield _existing(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                yield candidate if candidate in known else _existing(target, known)


def _existing(name: str, known: set[str]) -> str:
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


def room(module: str) -> str:
    """The folder (or top-level module) a module lives in: dbconnector.sql.filters -> sql."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def breaches(root: Path = ROOT) -> list[str]:
    found = modules(root)
    known = set(found)
    graph = {
        name: {other for other in imports(name, path, known) if other != name}
        for name, path in found.items()
    }
    problems = []
    top = [p for p in (root / PACKAGE).glob("*.py")]
    if len(top) > MAX_TOP_MODULES:
        names = ", ".join(sorted(p.name for p in top))
        problems.append(
            f"{len(top)} modules directly in {PACKAGE}/ (at most {MAX_TOP_MODULES}): {names}"
        )
    for group in cycles(graph):
        problems.append("import cycle: " + " -> ".join(group))
    for name, targets in sorted(graph.items()):
        here = room(name)
        for target in sorted(targets):
            there = room(target)
            banned = FORBIDDEN.get(here, set())
            if (
                there
                and there != here
                and (there in banned or ("*" in banned and there not in LEAVES))
                and target not in PARSERS.get(here, set())
            ):
                problems.append(f"{name} imports {target}: {here or name} may not import {there}")
    return problems


def main() -> int:
    problems = breaches()
    for problem in problems:
        print(problem)
    print(f"layout: {len(problems)} problem(s)" if problems else "layout: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
