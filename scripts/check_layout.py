"""`make layout`: the package's floor plan holds (docs/design.md, "Layout").

Fails (exit 1, one line per breach) on:
- an import cycle between modules of dbconnector, or between its rooms (folders and top-level
  modules) (every import counts: lazy ones in functions
  and those under `if TYPE_CHECKING:` too, since a type named is a dependency all the same);
- an import that points up the layering: drivers/ and sql/ never import api/ or web/, nor api/
  or web/ drivers/ or sql/ (views go one line into execution/), the console (a door beside the
  API) never imports api/, nothing below them imports manage/ (the admin operations), store/
  never imports drivers/, execution/ or api/, telemetry/ and lib/ import nothing that is not a
  leaf, and nothing below web/ imports web/;
- flask (or a flask_* extension) imported below the HTTP rooms (api/, web/, auth/);
- within execution/, a sub-room importing one it may not (jobs/ never imports transfers/, the
  shared modules directly in execution/ import neither), or two modules of the same name;
- a module reaching into another module's `_private` names (`from x import _y`, `x._y`);
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
# Rooms that know nothing of HTTP: no flask (nor flask_* extension) is imported in them.
NO_FLASK = {
    "manage",
    "execution",
    "sql",
    "drivers",
    "store",
    "lib",
    "errors",
    "config",
    "app_state",
}
# Sub-rooms of execution/ -> the sub-rooms they must never import ("" is execution/ itself).
EXECUTION_FORBIDDEN = {
    "": {"jobs", "transfers"},
    "jobs": {"transfers"},
}


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The dbconnector modules that module `name` imports."""
    for target, _alias in _imported(name, path, known):
        yield target


def _imported(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, ast.alias]]:
    """(module imported, the alias naming it) for each dbconnector import of module `name`."""
    tree = _parse(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield _existing(alias.name, known), alias
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, package)
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                yield (candidate if candidate in known else _existing(target, known)), alias


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def reach_ins(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """`from x import _y` and `x._y` where x is another dbconnector module."""
    modules_named: set[str] = set()
    for target, alias in _imported(name, path, known):
        if target == name:
            continue
        if target.endswith("." + alias.name) or target == alias.name:
            modules_named.add(alias.asname or alias.name.split(".")[0])
        elif _private(alias.name):
            yield f"{name} imports {target}.{alias.name}: a private name of another module"
    for node in ast.walk(_parse(path)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules_named
            and _private(node.attr)
        ):
            yield f"{name} reads {node.value.id}.{node.attr}: a private name of another module"


def flask_imports(path: Path) -> Iterator[str]:
    """The flask packages (flask, flask_*) a module imports."""
    for node in ast.walk(_parse(path)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        for imported in names:
            top = imported.split(".")[0]
            if top == "flask" or top.startswith("flask_"):
                yield top


def _existing(name: str, known: set[str]) -> str:
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


def room(module: str) -> str:
    """The folder (or top-level module) a module lives in: dbconnector.sql.filters -> sql."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def execution_room(module: str) -> str | None:
    """The sub-room of execution/ a module lives in ("" directly in it), or None outside it."""
    parts = module.split(".")
    if len(parts) < 3 or parts[1] != "execution":
        return None
    return parts[2] if len(parts) > 3 else ""


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
    for group in cycles(rooms(graph)):
        problems.append("room cycle: " + " -> ".join(group))
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
            problems.extend(_execution_breach(name, target))
    for name, path in found.items():
        if room(name) in NO_FLASK or name.rpartition(".")[2] in NO_FLASK:
            problems.extend(
                f"{name} imports {top}: {room(name) or name} knows no HTTP"
                for top in sorted(set(flask_imports(path)))
            )
        problems.extend(reach_ins(name, path, known))
    problems.extend(_repeated_names(found))
    return problems


def rooms(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same imports seen between rooms (folders and top-level modules)."""
    joined: dict[str, set[str]] = {}
    for name, targets in graph.items():
        here = room(name) or PACKAGE
        for target in targets:
            there = room(target) or PACKAGE
            if there != here:
                joined.setdefault(here, set()).add(there)
    return joined


def _execution_breach(name: str, target: str) -> Iterator[str]:
    here, there = execution_room(name), execution_room(target)
    if here is None or there is None or here == there:
        return
    if there in EXECUTION_FORBIDDEN.get(here, set()):
        yield f"{name} imports {target}: execution/{here} may not import execution/{there}"


def _repeated_names(found: dict[str, Path]) -> Iterator[str]:
    """Two modules of execution/ (at any depth) with the same file name."""
    seen: dict[str, str] = {}
    for name, path in sorted(found.items()):
        if execution_room(name) is None or path.name == "__init__.py":
            continue
        short = name.rpartition(".")[2]
        if short in seen:
            yield f"{seen[short]} and {name}: two modules named {short} in execution/"
        else:
            seen[short] = name


# Breaches this tree still owes, each removed by the change that mends it; one no longer found
# fails too, so the list only shrinks.
OWED: frozenset[str] = frozenset()


def report(root: Path = ROOT, owed: frozenset[str] = OWED) -> list[str]:
    """The breaches not owed, and the owed ones that are gone (to strike from OWED)."""
    found = breaches(root)
    return [p for p in found if p not in owed] + [
        f"owed but no longer found (strike it from OWED): {p}" for p in sorted(owed - set(found))
    ]


def main() -> int:
    problems = report()
    for problem in problems:
        print(problem)
    print(f"layout: {len(problems)} problem(s)" if problems else "layout: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
