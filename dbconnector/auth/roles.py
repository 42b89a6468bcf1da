"""Roles are bits (the specification's "User Permissions").

Each endpoint names the set of bits that may call it; a caller passes when `role & allowed`.
"""

from __future__ import annotations

from enum import IntFlag


class Role(IntFlag):
    READ = 1
    ALTER = 2
    FULL = 4
    ADMIN = 2048
    OWNER = 4096


ALL_ROLES = Role.READ | Role.ALTER | Role.FULL | Role.ADMIN | Role.OWNER
ADMINS = Role.ADMIN | Role.OWNER

# Who may call what, hierarchy included (a FULL user can do all a READ user can).
SELECT = ALL_ROLES
INSERT = UPDATE = EXEC = Role.ALTER | Role.FULL | ADMINS
DELETE = QUERY = Role.FULL | ADMINS
GRANT = Role.ALTER | Role.FULL | ADMINS  # the specification's "FULL/SUPER, ADMIN or OWNER"
# What running (and reading the results of) each kind of job takes: its endpoint's roles.
JOBS = {"select": SELECT, "query": QUERY, "exec": EXEC}


def is_valid_role(value: int) -> bool:
    """A non-empty combination of the defined bits."""
    return value > 0 and value & ~int(ALL_ROLES) == 0


def rank(role: int) -> int:
    """The highest bit a role holds: OWNER > ADMIN > FULL > ALTER > READ."""
    return 1 << (int(role).bit_length() - 1) if role > 0 else 0


def may_assign(actor_role: int, new_role: int) -> bool:
    """Nobody may grant a role above their own."""
    return rank(new_role) <= rank(actor_role)


def may_manage(actor_role: int, target_role: int) -> bool:
    """Nobody may change or delete a user whose role is above their own."""
    return rank(target_role) <= rank(actor_role)


def is_admin(role: int) -> bool:
    return bool(role & ADMINS)


def is_owner(role: int) -> bool:
    return bool(role & Role.OWNER)
