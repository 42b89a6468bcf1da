"""A job's summary (result-set shapes, /exec output values, a transfer's progress) and its error
text, sealed in the metadata database as its pages and its body are: either may hold the
database's own values or words."""

from __future__ import annotations

from ...store.secrets import SecretBox

# Every Fernet token begins so (its version byte, base64url): a row that does not was written
# before these were sealed, and reads as it was stored.
_SEALED = "gAAAAA"


def seal(box: SecretBox, text: str | None) -> str | None:
    return None if text is None else box.seal(text)


def unseal(box: SecretBox, stored: str | None) -> str | None:
    if stored is None or not stored.startswith(_SEALED):
        return stored
    return box.open(stored)
