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
    assert check_layout.breaches(ROOT) == []


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


def test_imports_under_type_checking_do_not_count(tmp_path):
    root = _tree(
        tmp_path,
        {
            "dbconnector/sql/filters.py": "from .statements import y\n",
            "dbconnector/sql/statements.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import filters\n"
            ),
        },
    )
    assert check_layout.breaches(root) == []


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
