"""Keys derived from DBCONNECTOR_SECRET_KEY, one per purpose (token signing, at-rest encryption).

HKDF gives independent keys, so a leak of one (say, a signed token) says nothing about another.
A KeyRing holds the current secret and the previous ones still accepted while a rotation runs
(DBCONNECTOR_PREVIOUS_SECRET_KEYS): tokens name their signing key by a key id (`kid`), itself
derived by HKDF, so it identifies a key without revealing anything about it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive(secret: str, purpose: str, length: int = 32) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=b"dbconnector", info=purpose.encode()
    ).derive(secret.encode("utf-8"))


def jwt_key(secret: str) -> str:
    return base64.urlsafe_b64encode(derive(secret, "jwt-hs256")).decode("ascii")


def fernet_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(derive(secret, "fernet-connection-strings"))


def key_id(secret: str) -> str:
    """A short public name for a secret (12 derived bytes, 16 base64url characters)."""
    return base64.urlsafe_b64encode(derive(secret, "key-id", 12)).decode("ascii")


@dataclass(frozen=True)
class KeyRing:
    """The current secret first, then the previous ones still accepted, newest first."""

    secrets: tuple[str, ...] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.secrets:
            raise ValueError("a key ring needs a current secret")

    @classmethod
    def of(cls, current: str, previous: Sequence[str] = ()) -> KeyRing:
        return cls((current, *previous))

    @property
    def current(self) -> str:
        return self.secrets[0]

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(key_id(secret) for secret in self.secrets)

    def derived(self, purpose: str) -> tuple[bytes, ...]:
        """Each secret's key for `purpose`, current first (a signer takes the first and accepts
        the rest)."""
        return tuple(derive(secret, purpose) for secret in self.secrets)

    def jwt_keys(self) -> dict[str, str]:
        """kid -> HS256 key, for picking the verification key of a token in one lookup."""
        return {key_id(secret): jwt_key(secret) for secret in self.secrets}
