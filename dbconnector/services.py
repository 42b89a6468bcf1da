"""The per-app services every request uses, kept in `app.extensions["dbconnector"]`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import Engine

from .auth.flood import FloodGuard
from .auth.tokens import VerifiedTokens
from .cache import TTLCache
from .config import Settings
from .store.connections import ConnectionStore
from .store.secrets import SecretBox

if TYPE_CHECKING:
    from .drivers.pools import PoolRegistry
    from .usage import UsageRecorder


@dataclass
class Services:
    settings: Settings
    engine: Engine
    flood: FloodGuard
    box: SecretBox
    connections: ConnectionStore
    # user id -> Principal (or None for a deleted user)
    principals: TTLCache[Any] = field(default_factory=lambda: TTLCache(5.0))
    # (user id, connToken) -> the resolved target, for execution calls
    targets: TTLCache[Any] = field(default_factory=lambda: TTLCache(5.0))
    tokens: VerifiedTokens = field(default_factory=VerifiedTokens)
    pools: PoolRegistry | None = None
    usage: UsageRecorder | None = None

    def forget_user(self, user_id: int) -> None:
        self.principals.invalidate(lambda key: key == user_id)
        self.targets.invalidate(lambda key: isinstance(key, tuple) and key[0] == user_id)

    def forget_connection(self, token: str) -> None:
        self.targets.invalidate(lambda key: isinstance(key, tuple) and key[1] == token)


def services() -> Services:
    return current_app.extensions["dbconnector"]
