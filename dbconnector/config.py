"""One typed Settings object, read from DBCONNECTOR_* environment variables and validated at start.

Every setting is documented in docs/operations.md ("Configuration"); keep the two in step.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from limits import parse_many

from .lib.keys import KeyRing
from .lib.private import private_dir


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = field(default="", repr=False)
    # Keys still accepted (tokens signed, connection strings sealed with them), newest first.
    previous_secret_keys: tuple[str, ...] = field(default=(), repr=False)
    owner_username: str | None = None
    owner_password: str | None = field(default=None, repr=False)
    demo: bool = False
    # Flood control, in flask-limiter notation ("10/minute;100/hour").
    ratelimit: str = "1200/minute"
    auth_ratelimit: str = "30/minute;300/hour"
    # shm:// counts in <data dir>/flood.shm, shared by every worker of the instance.
    ratelimit_storage_url: str = "shm://"
    flood_status: int = 200
    trusted_proxies: int = 0
    # Tokens (seconds).
    access_ttl: int = 180
    refresh_ttl: int = 900
    bcrypt_rounds: int = 12
    max_body_bytes: int = 16 * 1024 * 1024
    # How long user state, connection records and grants are cached in a process (seconds).
    cache_seconds: float = 5.0
    # Target databases.
    connect_timeout: float = 5.0
    statement_timeout: float = 30.0
    # Seconds a request's body may take to arrive once its headers have (0: no bound).
    body_timeout: float = 10.0
    select_max_rows: int = 0
    pool_size: int = 5
    pool_max_overflow: int = 10
    pool_recycle: int = 1800
    usage_flush_seconds: float = 2.0
    log_level: str = "INFO"
    log_format: str = "json"  # or "text"
    # Browser origins allowed to call the API (CORS); none by default.
    cors_origins: tuple[str, ...] = ()
    # Who may read /admin/metrics: loopback and the private ranges a scraper in the VPC uses.
    metrics_allowlist: str = "127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
    # Minimum length of a new password.
    min_password_length: int = 8
    # Directories SQLite targets may lie in; empty means the data dir (the demo target's).
    sqlite_roots: tuple[Path, ...] = ()
    # Async jobs (execution/jobs/): worker threads per process, defaults and caps (seconds).
    job_workers: int = 2
    job_timeout: int = 3600
    job_max_timeout: int = 86400
    job_retain: int = 3600
    job_max_retain: int = 7 * 86400
    job_max_result_bytes: int = 1024**3
    job_max_rows: int = 10_000_000
    job_max_active: int = 10
    # Jobs one user may have running at once across the instances, so one user cannot hold every
    # worker thread; the rest wait queued.
    job_max_running: int = 2
    job_lease_seconds: int = 30
    # Scale-out: jobs go on this Redis (RQ) to `dbconnector worker` processes (execution/jobs/).
    job_broker_url: str = ""
    job_queue: str = "dbconnector-jobs"

    def __repr__(self) -> str:  # never print the secret key or the owner password
        shown = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in _SECRET_FIELDS
        }
        return f"Settings({shown})"

    @property
    def service_files(self) -> tuple[Path, ...]:
        """Files the service writes outside the metadata database, which no target may open."""
        return (self.data_dir / "secret_key",)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def key_ring(self) -> KeyRing:
        return KeyRing.of(self.secret_key, self.previous_secret_keys)

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every DBCONNECTOR_* variable; raise ConfigError naming the bad one."""
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        data_dir = Path(reader.str("DBCONNECTOR_DATA_DIR", "var")).expanduser()
        app_env = reader.str("DBCONNECTOR_ENV", "development").lower()
        if app_env not in {"development", "production", "test"}:
            raise ConfigError("DBCONNECTOR_ENV must be development, production or test")
        settings = cls(
            env=app_env,
            data_dir=data_dir,
            database_url=reader.str("DBCONNECTOR_DATABASE_URL", ""),
            secret_key=reader.secret("DBCONNECTOR_SECRET_KEY"),
            previous_secret_keys=tuple(
                key.strip()
                for key in reader.secret("DBCONNECTOR_PREVIOUS_SECRET_KEYS")
                .replace("\n", ",")
                .split(",")
                if key.strip()
            ),
            owner_username=reader.str("DBCONNECTOR_OWNER_USERNAME", "") or None,
            owner_password=reader.str("DBCONNECTOR_OWNER_PASSWORD", "") or None,
            demo=reader.bool("DBCONNECTOR_DEMO", False),
            ratelimit=reader.str("DBCONNECTOR_RATELIMIT", cls.ratelimit),
            auth_ratelimit=reader.str("DBCONNECTOR_AUTH_RATELIMIT", cls.auth_ratelimit),
            ratelimit_storage_url=reader.str(
                "DBCONNECTOR_RATELIMIT_STORAGE_URL", cls.ratelimit_storage_url
            ),
            flood_status=reader.int("DBCONNECTOR_FLOOD_STATUS", cls.flood_status, 200, 599),
            trusted_proxies=reader.int("DBCONNECTOR_TRUSTED_PROXIES", 0, 0, 10),
            access_ttl=reader.int("DBCONNECTOR_ACCESS_TTL", cls.access_ttl, 1, 600),
            refresh_ttl=reader.int("DBCONNECTOR_REFRESH_TTL", cls.refresh_ttl, 1, 86400),
            bcrypt_rounds=reader.int("DBCONNECTOR_BCRYPT_ROUNDS", cls.bcrypt_rounds, 4, 16),
            cors_origins=tuple(
                origin.strip().rstrip("/")
                for origin in reader.str("DBCONNECTOR_CORS_ORIGINS", "").split(",")
                if origin.strip()
            ),
            metrics_allowlist=reader.str("DBCONNECTOR_METRICS_ALLOWLIST", cls.metrics_allowlist),
            min_password_length=reader.int(
                "DBCONNECTOR_MIN_PASSWORD_LENGTH", cls.min_password_length, 1, 1024
            ),
            max_body_bytes=reader.int(
                "DBCONNECTOR_MAX_BODY_BYTES", cls.max_body_bytes, 1024, 1024**3
            ),
            cache_seconds=reader.float("DBCONNECTOR_CACHE_SECONDS", cls.cache_seconds, 0, 60),
            connect_timeout=reader.float(
                "DBCONNECTOR_CONNECT_TIMEOUT", cls.connect_timeout, 0.5, 120
            ),
            body_timeout=reader.float("DBCONNECTOR_BODY_TIMEOUT", cls.body_timeout, 0, 3600),
            statement_timeout=reader.float(
                "DBCONNECTOR_STATEMENT_TIMEOUT", cls.statement_timeout, 0.1, 86400
            ),
            select_max_rows=reader.int("DBCONNECTOR_SELECT_MAX_ROWS", 0, 0, 10**12),
            pool_size=reader.int("DBCONNECTOR_POOL_SIZE", cls.pool_size, 1, 1000),
            pool_max_overflow=reader.int(
                "DBCONNECTOR_POOL_MAX_OVERFLOW", cls.pool_max_overflow, 0, 1000
            ),
            pool_recycle=reader.int("DBCONNECTOR_POOL_RECYCLE", cls.pool_recycle, 0, 86400),
            usage_flush_seconds=reader.float(
                "DBCONNECTOR_USAGE_FLUSH_SECONDS", cls.usage_flush_seconds, 0, 3600
            ),
            sqlite_roots=tuple(
                Path(root).expanduser()
                for root in reader.str("DBCONNECTOR_SQLITE_ROOTS", "").split(os.pathsep)
                if root.strip()
            ),
            job_workers=reader.int("DBCONNECTOR_JOB_WORKERS", cls.job_workers, 0, 64),
            job_timeout=reader.int("DBCONNECTOR_JOB_TIMEOUT", cls.job_timeout, 1, 7 * 86400),
            job_max_timeout=reader.int(
                "DBCONNECTOR_JOB_MAX_TIMEOUT", cls.job_max_timeout, 1, 7 * 86400
            ),
            job_retain=reader.int("DBCONNECTOR_JOB_RETAIN", cls.job_retain, 1, 90 * 86400),
            job_max_retain=reader.int(
                "DBCONNECTOR_JOB_MAX_RETAIN", cls.job_max_retain, 1, 90 * 86400
            ),
            job_max_result_bytes=reader.int(
                "DBCONNECTOR_JOB_MAX_RESULT_BYTES", cls.job_max_result_bytes, 1024, 1024**4
            ),
            job_max_rows=reader.int("DBCONNECTOR_JOB_MAX_ROWS", cls.job_max_rows, 1, 10**12),
            job_max_active=reader.int("DBCONNECTOR_JOB_MAX_ACTIVE", cls.job_max_active, 1, 10**6),
            job_max_running=reader.int(
                "DBCONNECTOR_JOB_MAX_RUNNING", cls.job_max_running, 1, 10**6
            ),
            job_lease_seconds=reader.int(
                "DBCONNECTOR_JOB_LEASE_SECONDS", cls.job_lease_seconds, 2, 3600
            ),
            job_broker_url=reader.str("DBCONNECTOR_JOB_BROKER_URL", cls.job_broker_url),
            job_queue=reader.str("DBCONNECTOR_JOB_QUEUE", cls.job_queue),
            log_level=reader.str("DBCONNECTOR_LOG_LEVEL", "INFO").upper(),
            log_format=reader.str("DBCONNECTOR_LOG_FORMAT", cls.log_format).lower(),
        )
        return settings.validated()

    def validated(self) -> Settings:
        """Fill derived defaults (database URL, secret key) and check cross-field rules."""
        for name in ("ratelimit", "auth_ratelimit"):
            value = getattr(self, name)
            try:
                parse_many(value)
            except ValueError as exc:
                raise ConfigError(
                    f"DBCONNECTOR_{name.upper()} is not a rate limit like '10/minute;100/hour'"
                ) from exc
        if self.ratelimit_storage_url != "shm://" and not self.ratelimit_storage_url.startswith(
            ("memory://", "redis://", "rediss://", "redis+unix://", "redis+sentinel://")
        ):
            raise ConfigError(
                "DBCONNECTOR_RATELIMIT_STORAGE_URL must be shm:// (the data dir's flood.shm), "
                "memory:// or a redis:// URL"
            )
        if (self.owner_username is None) != (self.owner_password is None):
            raise ConfigError(
                "DBCONNECTOR_OWNER_USERNAME and DBCONNECTOR_OWNER_PASSWORD go together"
            )
        if self.log_format not in {"json", "text"}:
            raise ConfigError("DBCONNECTOR_LOG_FORMAT must be json or text")
        for origin in self.cors_origins:
            if origin == "*" or not origin.startswith(("https://", "http://")):
                raise ConfigError(
                    "DBCONNECTOR_CORS_ORIGINS takes exact origins like https://app.example.org"
                )
        for root in self.sqlite_roots:
            if not root.is_dir():
                raise ConfigError(f"DBCONNECTOR_SQLITE_ROOTS: {root} is not a directory")
        if self.job_timeout > self.job_max_timeout or self.job_retain > self.job_max_retain:
            raise ConfigError(
                "DBCONNECTOR_JOB_TIMEOUT and DBCONNECTOR_JOB_RETAIN may not exceed their _MAX_ caps"
            )
        if self.job_broker_url and not self.job_broker_url.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ConfigError(
                "DBCONNECTOR_JOB_BROKER_URL must be a redis://, rediss:// or unix:// URL"
            )
        if not self.job_queue or len(self.job_queue) > 100:
            raise ConfigError("DBCONNECTOR_JOB_QUEUE must be a name of 1 to 100 characters")
        settings = self
        if not settings.database_url:
            url = f"sqlite:///{(settings.data_dir / 'dbconnector.db').resolve()}"
            settings = settings.replace(database_url=url)
        if not settings.secret_key:
            if settings.production:
                raise ConfigError(
                    "DBCONNECTOR_SECRET_KEY is required when DBCONNECTOR_ENV=production"
                )
            settings = settings.replace(secret_key=_local_secret(settings.data_dir))
        elif len(settings.secret_key) < 16:
            raise ConfigError("DBCONNECTOR_SECRET_KEY must be at least 16 characters")
        elif settings.production and len(settings.secret_key.encode()) < PRODUCTION_KEY_BYTES:
            raise ConfigError(
                f"DBCONNECTOR_SECRET_KEY must be at least {PRODUCTION_KEY_BYTES} bytes"
                " when DBCONNECTOR_ENV=production"
            )
        _check_previous_keys(settings.secret_key, settings.previous_secret_keys)
        return settings


_SECRET_FIELDS = {"secret_key", "previous_secret_keys", "owner_password", "database_url"}
PRODUCTION_KEY_BYTES = 32


def _check_previous_keys(current: str, previous: tuple[str, ...]) -> None:
    """A previous key may be shorter than a production key (it may predate that rule), but is
    never the current key: a rotation to the same key would change nothing."""
    for key in previous:
        if len(key) < 16:
            raise ConfigError(
                "every key in DBCONNECTOR_PREVIOUS_SECRET_KEYS must be at least 16 characters"
            )
        if key == current:
            raise ConfigError(
                "DBCONNECTOR_SECRET_KEY must differ from every key in"
                " DBCONNECTOR_PREVIOUS_SECRET_KEYS"
            )


def _local_secret(data_dir: Path) -> str:
    """A random key created once in the data dir (mode 0600) so restarts keep tokens and secrets."""
    private_dir(data_dir)
    path = data_dir / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < 16:
            raise ConfigError(f"{path} is too short to be a secret key; delete it") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def str(self, name: str, default: str) -> str:
        return self.env.get(name, default).strip()

    def secret(self, name: str) -> str:
        """`name`, or the content of the file `name`_FILE names (container secrets), not both."""
        file_name = f"{name}_FILE"
        path = self.env.get(file_name, "").strip()
        if not path:
            return self.str(name, "")
        if self.str(name, ""):
            raise ConfigError(f"set {name} or {file_name}, not both")
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise ConfigError(f"{file_name} does not name a readable text file") from None

    def bool(self, name: str, default: bool) -> bool:
        raw = self.env.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ConfigError(f"{name} must be 1 or 0")

    def int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}")
        return value

    def float(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}")
        return value
