from __future__ import annotations

import pytest

from dbconnector.auth.clientip import is_allowed, parse_allowlist


def test_empty_allowlist_allows_everyone():
    assert is_allowed("8.8.8.8", "") and is_allowed("::1", "  ")


@pytest.mark.parametrize(
    "address, allowed",
    [
        ("10.0.0.1", True),
        ("10.0.0.2", False),
        ("192.168.3.4", True),
        ("192.169.0.1", False),
        ("::ffff:10.0.0.1", True),
        ("2001:db8::5", True),
        ("2001:db9::5", False),
        ("garbage", False),
    ],
)
def test_addresses_and_ranges(address, allowed):
    assert is_allowed(address, "10.0.0.1, 192.168.0.0/16,2001:db8::/32") is allowed


@pytest.mark.parametrize("text", ["10.0.0.256", "10.0.0.0/33", "localhost", "1.2.3.4,,nope"])
def test_malformed_allowlists_raise(text):
    with pytest.raises(ValueError):
        parse_allowlist(text)
