from __future__ import annotations

import pytest

from dbconnector.lib import roles
from dbconnector.lib.roles import Role


@pytest.mark.parametrize("value", [1, 2, 4, 6, 7, 2048, 4096, 4096 | 2048 | 7])
def test_valid_roles(value):
    assert roles.is_valid_role(value)


@pytest.mark.parametrize("value", [0, -1, 8, 16, 1024, 8192, 4096 | 8])
def test_invalid_roles(value):
    assert not roles.is_valid_role(value)


def test_rank_is_the_highest_bit():
    assert roles.rank(Role.OWNER | Role.READ) == Role.OWNER
    assert roles.rank(Role.FULL | Role.ALTER) == Role.FULL
    assert roles.rank(0) == 0


def test_assignment_and_management_are_capped_at_own_rank():
    assert roles.may_assign(Role.ADMIN, Role.ADMIN)
    assert not roles.may_assign(Role.ADMIN, Role.OWNER)
    assert not roles.may_assign(Role.ADMIN, Role.OWNER | Role.READ)
    assert roles.may_manage(Role.OWNER, Role.OWNER)
    assert not roles.may_manage(Role.FULL, Role.ADMIN)


def test_endpoint_role_sets_follow_the_specification():
    everyone = [Role.READ, Role.ALTER, Role.FULL, Role.ADMIN, Role.OWNER]
    assert [bool(r & roles.SELECT) for r in everyone] == [True] * 5
    assert [bool(r & roles.INSERT) for r in everyone] == [False, True, True, True, True]
    assert [bool(r & roles.UPDATE) for r in everyone] == [False, True, True, True, True]
    assert [bool(r & roles.EXEC) for r in everyone] == [False, True, True, True, True]
    assert [bool(r & roles.DELETE) for r in everyone] == [False, False, True, True, True]
    assert [bool(r & roles.QUERY) for r in everyone] == [False, False, True, True, True]
    assert [bool(r & roles.ADMINS) for r in everyone] == [False, False, False, True, True]
