"""One typed Settings object, read from DBCONNECTOR_* environment variables and validated at start.

Each setting is declared once, as a field of Settings made by `setting()`: its type and default,
its bounds or check, and its line in docs/operations.md ("Configuration"), which
`markdown_table()` renders and a test holds in step with the page.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limits import parse_many

from .lib.keys import KeyRing
from .lib.private import private_dir

PREFIX = "DBCONNECTOR_"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Spec:
    """How one setting is read, checked and documented (the metadata of its Settings field)."""

    doc: str
    shown: str | None = None  # the default as the docs word it, when not the literal value
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    # Returns what is wrong with a value (the message after the variable's name), or None.
    check: Callable[[Any], str | None] | None = None
    case: Callable[[str], str] | None = None
    split: str = ""  # separators of a list setting
    item: Callable[[str], Any] | None = None  # turns one listed item into its value
    hidden: bool = False  # never in repr()
    from_file: bool = False  # may come from the file NAME_FILE names (container secrets)


def setting(default: Any, doc: str, **spec: Any) -> Any:
    """A Settings field: its default, and the Spec that reads, checks and documents it."""
    described = Spec(doc=doc, **spec)
    return dataclasses.field(
        default=default, repr=not described.hidden, metadata={"setting": described}
    )


def _rate_limit(value: str) -> str | None:
    try:
        parse_many(value)
    except ValueError:
        return "is not a rate limit like '10/minute;100/hour'"
    return None


_FLOOD_STORES = ("memory://", "redis://", "rediss://", "redis+unix://", "redis+sentinel://")


def _flood_store(value: str) -> str | None:
    if value == "shm://" or value.startswith(_FLOOD_STORES):
        return None
    return "must be shm:// (the data dir's flood.shm), memory:// or a redis:// URL"


def _origins(value: tuple[str, ...]) -> str | None:
    for origin in value:
        if origin == "*" or not origin.startswith(("https://", "http://")):
            return "takes exact origins like https://app.example.org"
    return None


def _directories(value: tuple[Path, ...]) -> str | None:
    for root in value:
        if not root.is_dir():
            return f"names {root}, which is not a directory"
    return None


def _broker(value: str) -> str | None:
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        return "must be a redis://, rediss:// or unix:// URL"
    return None


def _queue_name(value: str) -> str | None:
    return None if 0 < len(value) <= 100 else "must be a name of 1 to 100 characters"


_DATA_DIR = Path("var")


@dataclass(frozen=True)
class Settings:
    env: str = setting(
        "development",
        "`production` requires `DBCONNECTOR_SECRET_KEY` of at least 32 bytes",
        choices=("development", "production", "test"),
        case=str.lower,
    )
    data_dir: Path = setting(
        _DATA_DIR,
        "holds the SQLite metadata database, the demo target and the generated secret. Created"
        " (or, when the service's account owns it, narrowed at every start) mode 0700; the"
        " metadata database and its `-wal`/`-shm`, the secret and the lock files are 0600,"
        " whatever the umask, so no other local account (a database server reading files, say)"
        " can read them. A volume owned by another account keeps its own modes",
        shown="`./var`",
    )
    sqlite_roots: tuple[Path, ...] = setting(
        (),
        "directories (separated by `:`) a SQLite target's file must lie under, checked on the real"
        " path at create, change and every connect; inside the data dir only `demo.db` may be a"
        " target",
        shown="the data dir",
        split=os.pathsep,
        item=lambda root: Path(root).expanduser(),
        check=_directories,
    )
    database_url: str = setting(
        "",
        "SQLAlchemy URL of the metadata database: `postgresql+psycopg://user:pw@host/db` or"
        " `mssql+pymssql://user:pw@host:1433/db` (both tested live)",
        shown="SQLite in the data dir",
        hidden=True,
    )
    secret_key: str = setting(
        "",
        "the current key: signs tokens and keys the connection-string encryption; share it"
        " between instances; losing it (and every previous key) loses the stored connection"
        " strings. At least 16 characters, 32 bytes in production, and never one of the"
        " previous keys",
        shown="generated once into `<data dir>/secret_key` (mode 0600)",
        hidden=True,
        from_file=True,
    )
    # Keys still accepted (tokens signed, connection strings sealed with them), newest first.
    previous_secret_keys: tuple[str, ...] = setting(
        (),
        "keys still accepted while a rotation runs (comma-separated or one a line), newest first:"
        " tokens signed with them verify until they expire, connection strings sealed with them"
        " still open (see *Rotating the secret key*). Each at least 16 characters",
        split=",\n",
        hidden=True,
        from_file=True,
    )
    owner_username: str | None = setting(
        None,
        "create this OWNER at start if it does not exist (an existing user is left alone);"
        " goes with `DBCONNECTOR_OWNER_PASSWORD`",
    )
    owner_password: str | None = setting(
        None, "the password of `DBCONNECTOR_OWNER_USERNAME`", hidden=True
    )
    demo: bool = setting(
        False,
        "seed devuser, the demo target and its connection",
        shown="`0` (`1` under `make run`)",
    )
    # Flood control, in flask-limiter notation ("10/minute;100/hour").
    ratelimit: str = setting(
        "1200/minute",
        "per-user limit on authenticated calls"
        " ([flask-limiter notation](https://flask-limiter.readthedocs.io),"
        " e.g. `10/second;1000/hour`)",
        check=_rate_limit,
    )
    auth_ratelimit: str = setting(
        "30/minute;300/hour",
        "limit on `/v1/auth` and `/v1/auth/refresh`, per client address and per username",
        check=_rate_limit,
    )
    # shm:// counts in <data dir>/flood.shm, shared by every worker of the instance.
    ratelimit_storage_url: str = setting(
        "shm://",
        "where flood counts live. `shm://`: a shared-memory table in the data dir (`flood.shm`),"
        " shared by all workers of an instance, nothing to run; `memory://`: each worker process"
        " counts alone (so a client gets the limit once per worker: for one worker only);"
        " `redis://host:6379/0`: shared by every instance",
        check=_flood_store,
    )
    flood_status: int = setting(
        200,
        'HTTP status of the flood answer `{"error": "No Data"}` (the specification\'s 200;'
        " 429 if you prefer)",
        low=200,
        high=599,
    )
    trusted_proxies: int = setting(
        0,
        "how many proxy hops' `X-Forwarded-For` to believe for the client address (IP"
        " allowlists, flood keys)",
        low=0,
        high=10,
    )
    # Tokens (seconds).
    access_ttl: int = setting(
        180, "access token lifetime in seconds (a user's `ttl` overrides it)", low=1, high=600
    )
    refresh_ttl: int = setting(900, "refresh token lifetime in seconds", low=1, high=86400)
    bcrypt_rounds: int = setting(
        12,
        "bcrypt cost for new password hashes (4-16); a hash of another cost still verifies and"
        " is replaced at the user's next login",
        low=4,
        high=16,
    )
    max_body_bytes: int = setting(
        16 * 1024 * 1024, "larger request bodies get 413", low=1024, high=1024**3
    )
    # How long user state, connection records and grants are cached in a process (seconds).
    cache_seconds: float = setting(
        5.0,
        "how long a process caches a user's state and a connection with its grant; a disabled"
        " user, a changed role, a revoked grant or revoked tokens take effect at once on every"
        " worker of the instance that made the change (`state.epoch` in the data dir tells them)"
        " and within this time on the other instances; a token issued after the cached state (a"
        " new login) reloads it at once everywhere",
        shown="`5`",
        low=0,
        high=60,
    )
    # Target databases.
    connect_timeout: float = setting(
        5.0,
        "seconds to connect to a target (per connection: `options.connect_timeout`)",
        shown="`5`",
        low=0.5,
        high=120,
    )
    statement_timeout: float = setting(
        30.0,
        "seconds a statement may run (per connection: `options.statement_timeout`); `/query`,"
        " `/exec` and their jobs are also cancelled from the service 2 s past it, which their SQL"
        " cannot turn off",
        shown="`30`",
        low=0.1,
        high=86400,
    )
    body_timeout: float = setting(
        10.0,
        "seconds a request's body may take to arrive once its headers have; past it the read is"
        ' cut off and the caller gets `408 {"error": "The request body did not arrive in time'
        ' (DBCONNECTOR_BODY_TIMEOUT)"}` (0: no bound; see *Slow clients*)',
        shown="`10`",
        low=0,
        high=3600,
    )
    select_max_rows: int = setting(
        0,
        "most rows a `/select` returns; also the largest `limit` accepted",
        shown="`0` (no cap)",
        low=0,
        high=10**12,
    )
    pool_size: int = setting(5, "connections kept per connToken per process", low=1, high=1000)
    pool_max_overflow: int = setting(
        10, "extra target connections allowed under load, beyond the pool", low=0, high=1000
    )
    pool_recycle: int = setting(
        1800, "seconds after which a pooled target connection is replaced", low=0, high=86400
    )
    usage_flush_seconds: float = setting(
        2.0,
        "how often connection `Count`/`LastUse` are written (0: on every call)",
        shown="`2`",
        low=0,
        high=3600,
    )
    log_level: str = setting("INFO", "the lowest level logged", case=str.upper)
    log_format: str = setting(
        "json",
        "`json` (one object per line on stdout) or `text`",
        choices=("json", "text"),
        case=str.lower,
    )
    # Who may read /admin/metrics: loopback and the private ranges a scraper in the VPC uses.
    metrics_allowlist: str = setting(
        "127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7",
        "addresses/CIDR ranges that may read `/admin/metrics`",
        shown="loopback and private ranges",
    )
    # Browser origins allowed to call the API (CORS); none by default.
    cors_origins: tuple[str, ...] = setting(
        (),
        "comma-separated exact browser origins allowed to call the API"
        " (`https://app.example.org`); never `*`, never with cookies",
        shown="*(none: CORS off)*",
        split=",",
        item=lambda origin: origin.rstrip("/"),
        check=_origins,
    )
    # Async jobs (execution/jobs/): worker threads per process, defaults and caps (seconds).
    job_workers: int = setting(
        2,
        "async-job worker threads per service process (0: this process only takes calls; jobs"
        " then run on instances that have workers)",
        low=0,
        high=64,
    )
    job_timeout: int = setting(
        3600,
        "seconds a job's statement may run when the submit gives no `timeout`",
        low=1,
        high=7 * 86400,
    )
    job_max_timeout: int = setting(
        86400, "the most `timeout` a job submit may ask for, in seconds", low=1, high=7 * 86400
    )
    job_retain: int = setting(
        3600,
        "seconds a job's results are kept after it ends when the submit gives no `retain`",
        low=1,
        high=90 * 86400,
    )
    job_max_retain: int = setting(
        7 * 86400, "the most `retain` a job submit may ask for, in seconds", low=1, high=90 * 86400
    )
    job_max_rows: int = setting(
        10_000_000,
        "rows a job may store (over it the job fails, its rows deleted)",
        low=1,
        high=10**12,
    )
    job_max_result_bytes: int = setting(
        1024**3,
        "bytes of JSON rows a job may store, before compression",
        low=1024,
        high=1024**4,
    )
    job_max_active: int = setting(
        10,
        "jobs a user may have queued or running at once (a further submit is a 400)",
        low=1,
        high=10**6,
    )
    # Jobs one user may have running at once across the instances, so one user cannot hold every
    # worker thread; the rest wait queued.
    job_max_running: int = setting(
        2,
        "jobs a user may have running at once, over all instances: the others wait queued while"
        " other users' jobs start, so one user cannot hold every job thread (the embedded engine;"
        " `dbconnector worker` processes take jobs in the order RQ gives them)",
        low=1,
        high=10**6,
    )
    job_lease_seconds: int = setting(
        30,
        "a running job's lease, renewed by its process; past it, the job is failed"
        ' "interrupted" (its process died)',
        low=2,
        high=3600,
    )
    # Scale-out: jobs go on this Redis (RQ) to `dbconnector worker` processes (execution/jobs/).
    job_broker_url: str = setting(
        "",
        "`redis://...` (or `rediss://`, `unix://`): jobs go on RQ to `dbconnector worker`"
        " processes and instances only enqueue (see [Job workers on Redis](#job-workers-on-redis));"
        " unset, they run in each instance's own threads",
        check=_broker,
    )
    job_queue: str = setting(
        "dbconnector-jobs",
        "the RQ queue name, so several deployments may share one Redis",
        check=_queue_name,
    )
    min_password_length: int = setting(
        8,
        "minimum length of a new or changed password (1-1024; passwords are SHA-256 pre-hashed,"
        " so every character counts)",
        low=1,
        high=1024,
    )

    def __repr__(self) -> str:  # never print the secret key or the owner password
        shown = {
            spec.name: getattr(self, spec.name) for spec in _fields() if not _spec(spec).hidden
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
        hints = _types()
        values = {}
        for declared in _fields():
            raw = _raw(env, variable(declared.name), _spec(declared).from_file)
            if raw is not None:
                values[declared.name] = _parse(declared, hints[declared.name], raw)
        return cls(**values).validated()

    def validated(self) -> Settings:
        """Check every setting against its declaration and the rules between settings, and fill
        the derived defaults (database URL, secret key)."""
        for declared in _fields():
            complaint = _complaint(_spec(declared), getattr(self, declared.name))
            if complaint:
                raise ConfigError(f"{variable(declared.name)} {complaint}")
        if (self.owner_username is None) != (self.owner_password is None):
            raise ConfigError(
                "DBCONNECTOR_OWNER_USERNAME and DBCONNECTOR_OWNER_PASSWORD go together"
            )
        if self.job_timeout > self.job_max_timeout or self.job_retain > self.job_max_retain:
            raise ConfigError(
                "DBCONNECTOR_JOB_TIMEOUT and DBCONNECTOR_JOB_RETAIN may not exceed their _MAX_ caps"
            )
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


def variable(name: str) -> str:
    """The environment variable of the Settings field `name`."""
    return PREFIX + name.upper()


def _fields() -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(Settings)


def _spec(declared: dataclasses.Field[Any]) -> Spec:
    return declared.metadata["setting"]


def _types() -> dict[str, Any]:
    return typing.get_type_hints(Settings)


def _raw(env: Mapping[str, str], name: str, from_file: bool) -> str | None:
    """The variable's text, or that of the file NAME_FILE names; None when neither is set."""
    file_name = f"{name}_FILE"
    path = env.get(file_name, "").strip() if from_file else ""
    if not path:
        return env.get(name)
    if env.get(name, "").strip():
        raise ConfigError(f"set {name} or {file_name}, not both")
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"{file_name} does not name a readable text file") from None


def _parse(declared: dataclasses.Field[Any], kind: Any, raw: str) -> Any:
    spec, name, text = _spec(declared), variable(declared.name), raw.strip()
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(f"{name} must be 1 or 0")
    if kind in (int, float):
        if not text:
            return declared.default
        try:
            return kind(text)
        except ValueError:
            noun = "a whole number" if kind is int else "a number"
            raise ConfigError(f"{name} must be {noun}") from None
    if typing.get_origin(kind) is tuple:
        item = spec.item or str
        parts = re.split(f"[{re.escape(spec.split)}]", text) if text else []
        return tuple(item(part.strip()) for part in parts if part.strip())
    if kind is Path:
        return Path(text).expanduser()
    if kind == (str | None):
        return text or None
    return spec.case(text) if spec.case else text


def _complaint(spec: Spec, value: Any) -> str | None:
    if spec.low is not None and spec.high is not None and not spec.low <= value <= spec.high:
        return f"must be between {spec.low} and {spec.high}"
    if spec.choices and value not in spec.choices:
        return f"must be {', '.join(spec.choices[:-1])} or {spec.choices[-1]}"
    return spec.check(value) if spec.check else None


# Variables read before a Settings exists (by gunicorn.conf.py, the Makefile, the migrations).
OUTSIDE = (
    ("`HOST`, `PORT`", "`127.0.0.1`, `8000`", "where gunicorn listens"),
    (
        "`DBCONNECTOR_WORKERS`, `DBCONNECTOR_THREADS`",
        "`2`, `4`",
        "gunicorn processes and threads per process (more threads only for slow statements: see"
        " gunicorn.conf.py)",
    ),
    (
        "`DBCONNECTOR_ACCESS_LOG`",
        "*(off)*",
        "`1` adds gunicorn's own access line beside the JSON request line",
    ),
    (
        "`DBCONNECTOR_MIGRATIONS_DIR`",
        "`migrations/` beside the package",
        "for installs outside a checkout (the Dockerfile sets it)",
    ),
)


def _shown(spec: Spec, default: Any) -> str:
    if spec.shown is not None:
        return spec.shown
    if isinstance(default, bool):
        return f"`{int(default)}`"
    if default in ("", (), None):
        return "unset"
    return f"`{default}`"


def markdown_table() -> str:
    """The settings table of docs/operations.md, one row per variable, from the declarations."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| {name} | {default} | {doc} |" for name, default, doc in OUTSIDE]
    for declared in _fields():
        spec, name = _spec(declared), variable(declared.name)
        doc = spec.doc
        if spec.from_file:
            doc += f"; or read from the file `{name}_FILE` names (container secrets), not both"
        rows.append(f"| `{name}` | {_shown(spec, declared.default)} | {doc} |")
    return "\n".join(rows) + "\n"


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
