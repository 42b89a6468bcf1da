"""Keys derived from DBCONNECTOR_SECRET_KEY, one per purpose (token signing, at-rest encryption).

HKDF gives independent keys, so a leak of one (say, a signed token) says nothing about another.
"""

from __future__ import annotations

import base64

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
