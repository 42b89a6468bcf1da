"""Which databases a stored connection may reach: never the service's own metadata store.

A SQLite target is a file on this server, so a connection string could otherwise name the metadata
database (users, password hashes, refresh tokens) or the secret key and let an ADMIN rewrite roles.
The rules, checked on the real path (symlinks, `.`/`..`, `file:` URIs resolved) and on the file's
identity (a hard link is the same inode):
- a SQLite target's file lies under one of DBCONNECTOR_SQLITE_ROOTS;
- it is never a file the service writes: the metadata database and its -wal/-shm/-journal files,
  the secret key, lock files, or anything else in the data dir but the demo target;
- a network target never names the metadata database's server (its addresses, this machine for
  localhost or a Unix socket) with the same port and database name, whatever the driver. Each
  driver says which servers and databases a string reaches after its own defaults (every host of
  a libpq list, PG* variables, the database a user name implies; drivers/*.py `endpoints`), and
  each one is checked; a port or database left to the server could be the metadata's. On a SQL
  Server metadata server every database reaches the others by name: any database there is
  refused.
Errors name the rule, never the path of the metadata store.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url

from ..errors import BadRequest
from .base import Endpoint

OUTSIDE_ROOTS = (
    "A SQLite target's file must lie under a directory listed in DBCONNECTOR_SQLITE_ROOTS"
)
SERVICE_FILE = "A SQLite target cannot be a file the service itself writes (its data dir)"
METADATA_SERVER = "A connection cannot point at the service's own metadata database"
BAD_PATH = "A SQLite target's database must be a file path or a file: URI"
# Files inside the data dir that connections may use; everything else there is the service's.
DEMO_FILE = "demo.db"
_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")
_LOCAL = "this machine"
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433}
_FILE_DRIVERS = {"sqlite", "sqlite3"}
_FILE_ENDINGS = (".db", ".sqlite", ".sqlite3", "-wal", "-shm", "-journal")


# Backends whose databases reach each other by name on one server (three-part names, db.table).
_SHARED_SERVERS = {"mssql", "mysql", "mariadb"}


@dataclass(frozen=True)
class _Server:
    addresses: frozenset[str]
    port: int | None
    database: str
    # Every database of the server reaches the metadata one: the name alone does not confine.
    shared: bool = False


class Confinement:
    """The rules for one service's settings; built once (rules_for) and shared."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        roots: tuple[Path, ...],
        service_files: tuple[Path, ...] = (),
    ) -> None:
        self.data_dir = Path(os.path.realpath(data_dir))
        self.roots = tuple(Path(os.path.realpath(root)) for root in roots)
        url = make_url(database_url)
        forbidden = [Path(os.path.realpath(path)) for path in service_files]
        self.metadata: _Server | None = None
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                forbidden.append(Path(os.path.realpath(url.database)))
        else:
            backend = url.get_backend_name()
            host = url.host or url.query.get("host") or ""
            hosts = host.split(",") if isinstance(host, str) else list(host)
            self.metadata = _Server(
                frozenset().union(*(_addresses(name.strip()) for name in hosts)),
                url.port or _DEFAULT_PORTS.get(backend),
                # libpq's default database is the user's name
                (url.database or url.username or "").casefold(),
                backend in _SHARED_SERVERS,
            )
        self.forbidden = tuple(
            path.with_name(path.name + suffix) for path in forbidden for suffix in _SQLITE_SUFFIXES
        )

    # --- the checks ---------------------------------------------------------------------------

    def check(
        self, spec: Mapping[str, Any], driver: str | None, endpoints: Sequence[Endpoint]
    ) -> None:
        """Refuse a connection string that breaks a rule, for the driver it is used with (or, at
        create, the one it declares; with none declared, every kind it could be used as), whose
        `endpoints` are what that driver, or every driver, would try (drivers.confine)."""
        declared = str(driver or spec.get("driver") or "").lower()
        if declared in _FILE_DRIVERS:
            self.sqlite_file(spec)
            return
        if not declared and _names_a_file(spec):
            self.sqlite_file(spec)
        self.network(endpoints)

    def sqlite_file(self, spec: Mapping[str, Any]) -> str:
        """The real path of a SQLite target's file, once it passes every rule."""
        database = spec.get("database")
        if not isinstance(database, str) or not database.strip():
            raise BadRequest('a sqlite connection string needs "database": the file\'s path')
        real = Path(os.path.realpath(_file_path(database)))
        if not any(real.is_relative_to(root) for root in self.roots):
            raise BadRequest(OUTSIDE_ROOTS)
        if self._service_owned(real):
            raise BadRequest(SERVICE_FILE)
        return str(real)

    def network(self, endpoints: Sequence[Endpoint]) -> None:
        """Refuse endpoints of which any reaches the metadata database."""
        if self.metadata is None:
            return
        for endpoint in endpoints:
            if _reaches(endpoint, self.metadata):
                raise BadRequest(METADATA_SERVER)

    def _service_owned(self, real: Path) -> bool:
        if real in self.forbidden:
            return True
        if real.is_relative_to(self.data_dir) and real != self.data_dir / DEMO_FILE:
            return True
        try:
            seen = os.stat(real)
        except OSError:
            return False
        for path in self.forbidden:
            try:
                if os.path.samestat(seen, os.stat(path)):
                    return True
            except OSError:
                continue
        return False


def _reaches(endpoint: Endpoint, metadata: _Server) -> bool:
    if endpoint.port is not None and endpoint.port != metadata.port:
        return False  # cheap tests first: most targets differ here and need no address lookup
    database = endpoint.database
    if not metadata.shared and database is not None and database.casefold() != metadata.database:
        return False
    return bool(_addresses(endpoint.host) & metadata.addresses)


def _names_a_file(spec: Mapping[str, Any]) -> bool:
    """Whether a connection that declares no driver names a file (a path, or an existing file)
    rather than a database on a server; either way it is checked again when used."""
    database = spec.get("database")
    if not isinstance(database, str) or not database.strip() or spec.get("host"):
        return False
    if any(mark in database for mark in ("/", "\\", ":")) or database.endswith(_FILE_ENDINGS):
        return True
    return os.path.isfile(database)


def _file_path(database: str) -> str:
    """A `file:` URI's path (its query and fragment dropped); anything else is a path."""
    if not database.lower().startswith("file:"):
        return os.path.abspath(database)
    parts = urlsplit(database)
    if parts.netloc not in ("", "localhost") or not unquote(parts.path):
        raise BadRequest(BAD_PATH)
    return os.path.abspath(unquote(parts.path))


def _addresses(host: str) -> frozenset[str]:
    """The addresses a host name stands for; this machine counts as one place."""
    if not host or host.startswith("/") or host.lower() in {"localhost", "localhost.localdomain"}:
        return frozenset({_LOCAL})
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return frozenset({host.lower()})
    found = {str(info[4][0]).split("%")[0] for info in infos}
    if any(_is_local(address) for address in found):
        found.add(_LOCAL)
    return frozenset(found)


def _is_local(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified or address in _own_addresses()


@lru_cache(maxsize=1)
def _own_addresses() -> frozenset[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, proto=socket.IPPROTO_TCP)
    except OSError:
        return frozenset()
    return frozenset(str(info[4][0]).split("%")[0] for info in infos)


@lru_cache(maxsize=16)
def rules_for(settings: Any) -> Confinement:
    """The rules of one Settings object (frozen, so it is its own cache key)."""
    return Confinement(
        settings.data_dir,
        settings.database_url,
        settings.sqlite_roots or (settings.data_dir,),
        settings.service_files,
    )
