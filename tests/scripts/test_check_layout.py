"""`make layout` passes on this tree and fails on each kind of breach it guards against."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_layout", ROOT / "scripts" / "check_layout.py")
check_layout = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
spec.loader.exec_module(check_layout)  # type: ignore[union-attr]


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    base = {
        "dbconnector/__init__.py": "",
        "dbconnector/errors.py": "",
        "dbconnector/config.py": "",
        "dbconnector/api/__init__.py": "",
        "dbconnector/api/views.py": "from ..errors import x\n",
        "dbconnector/web/__init__.py": "",
        "dbconnector/drivers/__init__.py": "",
        "dbconnector/drivers/base.py": "",
        "dbconnector/sql/__init__.py": "",
        "dbconnector/sql/filters.py": "",
    }
    for name, text in {**base, **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_this_tree_passes():
    assert check_layout.report(ROOT) == []


def test_an_owed_breach_that_is_gone_fails_so_the_list_only_shrinks(tmp_path):
    owed = frozenset({"dbconnector.sql.filters imports flask: sql knows no HTTP"})
    (problem,) = check_layout.report(_tree(tmp_path, {}), owed)
    assert problem.startswith("owed but no longer found")
    root = _tree(tmp_path, {"dbconnector/sql/filters.py": "import flask\n"})
    assert check_layout.report(root, owed) == []


def test_a_clean_small_tree_passes(tmp_path):
    assert check_layout.breaches(_tree(tmp_path, {})) == []


def test_an_import_cycle_fails(tmp_path):
    root = _tree(
        tmp_path,
        {
            "dbconnector/sql/filters.py": "from .statements import y\n",
            "dbconnector/sql/statements.py": "def f():\n    from . import filters\n",
        },
    )
    assert check_layout.breaches(root) == [
        "import cycle: dbconnector.sql.filters -> dbconnector.sql.statements"
    ]


def test_imports_under_type_checking_count_for_cycles(tmp_path):
    root = _tree(
        tmp_path,
        {
            "dbconnector/sql/filters.py": "from .statements import y\n",
            "dbconnector/sql/statements.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import filters\n"
            ),
        },
    )
    assert check_layout.breaches(root) == [
        "import cycle: dbconnector.sql.filters -> dbconnector.sql.statements"
    ]


def test_a_cycle_between_rooms_fails_though_no_module_cycle(tmp_path):
    root = _tree(
        tmp_path,
        {
            "dbconnector/store/__init__.py": "",
            "dbconnector/store/users.py": "from ..auth.roles import Role\n",
            "dbconnector/auth/__init__.py": "",
            "dbconnector/auth/roles.py": "",
            "dbconnector/auth/guard.py": "from ..store import users\n",
        },
    )
    assert check_layout.breaches(root) == ["room cycle: auth -> store"]


@pytest.mark.parametrize("room", ["execution", "sql", "drivers", "store", "lib"])
@pytest.mark.parametrize("line", ["import flask\n", "from flask import Response\n"])
def test_flask_below_the_http_rooms_fails(tmp_path, room, line):
    root = _tree(
        tmp_path, {f"dbconnector/{room}/__init__.py": "", f"dbconnector/{room}/x.py": line}
    )
    assert check_layout.breaches(root) == [
        f"dbconnector.{room}.x imports flask: {room} knows no HTTP"
    ]


def test_flask_extensions_count_and_api_may_use_flask(tmp_path):
    root = _tree(
        tmp_path,
        {
            "dbconnector/store/__init__.py": "",
            "dbconnector/store/x.py": "from flask_limiter import Limiter\n",
            "dbconnector/api/views.py": "from flask import Blueprint\n",
        },
    )
    assert check_layout.breaches(root) == [
        "dbconnector.store.x imports flask_limiter: store knows no HTTP"
    ]


@pytest.mark.parametrize(
    "line, problem",
    [
        (
            "from .statements import _quote\n",
            "dbconnector.sql.filters imports dbconnector.sql.statements._quote:"
            " a private name of another module",
        ),
        (
            "from . import statements\n\ndef f():\n    return statements._quote\n",
            "dbconnector.sql.filters reads statements._quote: a private name of another module",
        ),
    ],
)
def test_reaching_into_another_modules_private_names_fails(tmp_path, line, problem):
    root = _tree(
        tmp_path,
        {"dbconnector/sql/filters.py": line, "dbconnector/sql/statements.py": "_quote = 1\n"},
    )
    assert check_layout.breaches(root) == [problem]


def test_own_private_names_and_dunders_are_fine(tmp_path):
    root = _tree(
        tmp_path,
        {
            "dbconnector/sql/filters.py": (
                "from . import statements\n_mine = statements.__name__\n"
                "from .statements import quote\n"
            ),
            "dbconnector/sql/statements.py": "quote = 1\n",
        },
    )
    assert check_layout.breaches(root) == []


EXECUTION = {
    "dbconnector/execution/__init__.py": "",
    "dbconnector/execution/plan.py": "",
    "dbconnector/execution/jobs/__init__.py": "",
    "dbconnector/execution/jobs/queue.py": "from .. import plan\n",
    "dbconnector/execution/transfers/__init__.py": "",
    "dbconnector/execution/transfers/load.py": "from ..jobs import queue\n",
}


def test_transfers_may_import_jobs_and_jobs_never_transfers(tmp_path):
    assert check_layout.breaches(_tree(tmp_path, EXECUTION)) == []
    backwards = {
        **EXECUTION,
        "dbconnector/execution/jobs/queue.py": "from ..transfers import load\n",
    }
    assert check_layout.breaches(_tree(tmp_path, backwards)) == [
        "import cycle: dbconnector.execution.jobs.queue -> dbconnector.execution.transfers.load",
        "dbconnector.execution.jobs.queue imports dbconnector.execution.transfers.load:"
        " execution/jobs may not import execution/transfers",
    ]


def test_the_shared_execution_modules_import_no_sub_room(tmp_path):
    upward = {
        **EXECUTION,
        "dbconnector/execution/plan.py": "def f():\n    from .jobs import queue\n",
    }
    problems = check_layout.breaches(_tree(tmp_path, upward))
    assert (
        "dbconnector.execution.plan imports dbconnector.execution.jobs.queue:"
        " execution/ may not import execution/jobs"
    ) in problems


def test_two_modules_of_one_name_in_execution_fail(tmp_path):
    twice = {**EXECUTION, "dbconnector/execution/transfers/queue.py": ""}
    assert check_layout.breaches(_tree(tmp_path, twice)) == [
        "dbconnector.execution.jobs.queue and dbconnector.execution.transfers.queue:"
        " two modules named queue in execution/"
    ]


@pytest.mark.parametrize("low", ["drivers/base.py", "sql/filters.py"])
@pytest.mark.parametrize("high", ["api", "web"])
def test_drivers_and_sql_may_not_import_api_or_web(tmp_path, low, high):
    root = _tree(tmp_path, {f"dbconnector/{low}": f"from ..{high} import views\n"})
    (problem,) = check_layout.breaches(root)
    assert f"may not import {high}" in problem


def test_more_than_five_top_level_modules_fail(tmp_path):
    extra = {f"dbconnector/extra{n}.py": "" for n in range(3)}
    (problem,) = check_layout.breaches(_tree(tmp_path, extra))
    assert problem.startswith("6 modules directly in dbconnector/ (at most 5)")


def test_app_state_knows_no_http_since_execution_imports_it(tmp_path):
    root = _tree(tmp_path, {"dbconnector/app_state.py": "from flask import current_app\n"})
    assert check_layout.breaches(root) == [
        "dbconnector.app_state imports flask: app_state knows no HTTP"
    ]
