from __future__ import annotations

from dbconnector.store.passwords import hash_password, verify_password


def test_password_round_trip_and_long_passwords_keep_every_byte():
    hashed = hash_password("correct horse", rounds=4)
    assert hashed.startswith("$2b$04$")
    assert verify_password("correct horse", hashed)
    assert not verify_password("correct horsE", hashed)
    long_a, long_b = "x" * 100 + "a", "x" * 100 + "b"  # differ after bcrypt's 72-byte limit
    hashed_long = hash_password(long_a, rounds=4)
    assert verify_password(long_a, hashed_long) and not verify_password(long_b, hashed_long)


def test_malformed_stored_hash_never_verifies():
    assert not verify_password("anything", "not-a-bcrypt-hash")
