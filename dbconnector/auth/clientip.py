"""The caller's address and the per-user IP allowlist (addresses and CIDR ranges).

The address comes from `request.remote_addr`, which werkzeug's ProxyFix rewrites from
X-Forwarded-For only for as many hops as DBCONNECTOR_TRUSTED_PROXIES says (see create_app);
a forged header from a direct caller is never believed.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from flask import request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address() -> str:
    return request.remote_addr or ""


@lru_cache(maxsize=4096)
def parse_allowlist(text: str) -> tuple[Network, ...]:
    """'10.0.0.1, 192.168.0.0/16' -> networks; empty means any address; ValueError if malformed."""
    networks = []
    for item in text.split(","):
        entry = item.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"'{entry}' is not an IP address or CIDR range") from None
    return tuple(networks)


def is_allowed(address: str, allowlist: str) -> bool:
    networks = parse_allowlist(allowlist)
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
