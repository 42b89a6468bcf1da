"""Connection strings are encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key is derived from DBCONNECTOR_SECRET_KEY; losing that key loses the stored connection
strings (users and grants survive), so operators must keep it with their backups.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from ..errors import ApiError
from ..lib.keys import fernet_key


class SecretBox:
    def __init__(self, secret: str) -> None:
        self._fernet = Fernet(fernet_key(secret))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def seal_bytes(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def open_bytes(self, ciphertext: bytes) -> bytes:
        try:
            return self._fernet.decrypt(ciphertext)
        except InvalidToken:
            raise SecretKeyMismatch() from None

    def open(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretKeyMismatch() from None


class SecretKeyMismatch(ApiError):
    """A stored connection string was sealed with another DBCONNECTOR_SECRET_KEY: an operator's
    problem, so a 500 that says what to check rather than a bare one."""

    status = 500

    def __init__(self) -> None:
        super().__init__(
            "A stored connection string cannot be decrypted: was DBCONNECTOR_SECRET_KEY changed?"
        )
