"""Connection strings are encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key is derived from DBCONNECTOR_SECRET_KEY; ciphertext sealed with a key listed in
DBCONNECTOR_PREVIOUS_SECRET_KEYS still opens (MultiFernet), and `dbconnector keys rotate`
re-seals it with the current key (store/rotation.py). Losing every key a row was sealed with loses
that connection string (users and grants survive), so operators must keep keys with their backups.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import ApiError
from ..lib.keys import KeyRing, fernet_key


class SecretBox:
    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        self._fernets = [Fernet(fernet_key(key)) for key in (secret, *previous)]
        self._fernet = MultiFernet(self._fernets)

    @classmethod
    def of(cls, ring: KeyRing) -> SecretBox:
        return cls(ring.current, ring.secrets[1:])

    @property
    def key_count(self) -> int:
        return len(self._fernets)

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

    def key_index(self, ciphertext: str) -> int | None:
        """Which key sealed `ciphertext`: 0 the current one, 1.. a previous one, None none."""
        token = ciphertext.encode("ascii")
        for index, fernet in enumerate(self._fernets):
            try:
                fernet.decrypt(token)
            except InvalidToken:
                continue
            return index
        return None

    def reseal(self, ciphertext: str) -> str:
        """The same plaintext sealed with the current key (SecretKeyMismatch if no key opens it)."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretKeyMismatch() from None


class SecretKeyMismatch(ApiError):
    """A stored connection string was sealed with a key no longer listed: an operator's problem,
    so a 500 that says what to check rather than a bare one."""

    status = 500

    def __init__(self) -> None:
        super().__init__(
            "A stored connection string cannot be decrypted: was DBCONNECTOR_SECRET_KEY changed"
            " without listing the old key in DBCONNECTOR_PREVIOUS_SECRET_KEYS?"
        )
