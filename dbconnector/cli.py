"""The `dbconnector` command: db upgrade, users create/list/set-password, connections check,
keys status/rotate, demo, serve, worker."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .auth.passwords import new_password_hash
from .auth.roles import is_valid_role
from .config import ConfigError, Settings
from .store import users as user_store
from .store.db import make_engine, read, write


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    return make_engine(settings.database_url)


@click.group()
def main() -> None:
    """DBConnector: a JSON REST gateway to SQL databases on a private network."""


@main.group()
def db() -> None:
    """The metadata database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from .store.migrate import upgrade

    upgrade(_engine(_settings()))
    click.echo("metadata database is up to date")


@main.group()
def users() -> None:
    """Users of the service."""


def _password_option(func):  # type: ignore[no-untyped-def]
    return click.option(
        "--password",
        envvar="DBCONNECTOR_NEW_PASSWORD",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="Asked for when not given (or set DBCONNECTOR_NEW_PASSWORD).",
    )(func)


@users.command("create")
@click.option("--username", required=True)
@click.option(
    "--role", type=int, required=True, help="1 READ, 2 ALTER, 4 FULL, 2048 ADMIN, 4096 OWNER"
)
@click.option("--ipaddresses", default="", help="Comma-separated addresses or CIDR ranges")
@click.option("--ttl", default="", help="authToken lifetime, e.g. 90s or 3m")
@_password_option
def users_create(username: str, role: int, ipaddresses: str, ttl: str, password: str) -> None:
    """Create a user (the first OWNER, typically)."""
    from .api.schemas import UserCreate, load
    from .errors import ApiError

    if not is_valid_role(role):
        raise click.ClickException("role must combine 1, 2, 4, 2048 and 4096")
    try:
        data = load(
            UserCreate(),
            {
                "username": username,
                "password": password,
                "role": role,
                "ipaddresses": ipaddresses,
                "ttl": ttl,
            },
        )
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    settings = _settings()
    try:
        data["password_hash"] = new_password_hash(
            data.pop("password"), settings.bcrypt_rounds, settings.min_password_length
        )
        with write(_engine(settings)) as conn:
            user_id = user_store.create(conn, **data)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created user {username} with id {user_id}")


@users.command("list")
def users_list() -> None:
    """List users (passwords are never shown)."""
    with read(_engine(_settings())) as conn:
        for user in user_store.list_page(conn, None, None):
            state = "enabled" if user.enabled else "disabled"
            click.echo(
                f"{user.id}\t{user.username}\trole={user.role}\t{state}"
                f"\tips={user.ipaddresses or '*'}"
            )


@users.command("set-password")
@click.argument("username")
@_password_option
def users_set_password(username: str, password: str) -> None:
    """Set a user's password (and end all its tokens)."""
    from .errors import ApiError
    from .store import refresh_tokens

    settings = _settings()
    try:
        password_hash = new_password_hash(
            password, settings.bcrypt_rounds, settings.min_password_length
        )
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    with write(_engine(settings)) as conn:
        user = user_store.get_by_username(conn, username)
        if user is None:
            raise click.ClickException(f"no user named {username}")
        user_store.update_fields(conn, user, {"password_hash": password_hash})
        refresh_tokens.revoke_all(conn, user.id)
    click.echo(f"password of {username} changed")


@main.group()
def connections() -> None:
    """Stored connections."""


@connections.command("check")
def connections_check() -> None:
    """List stored connections that break the rules on what a target may be (exit 1 if any)."""
    from .drivers import confine
    from .errors import ApiError
    from .store import connstring
    from .store.connections import ConnectionStore
    from .store.secrets import SecretBox

    settings = _settings()
    store = ConnectionStore(SecretBox.of(settings.key_ring))
    broken = 0
    with read(_engine(settings)) as conn:
        records = store.list_page(conn, None, None)
    for record in records:
        try:
            confine(settings, connstring.parse(record.connection_string))
        except ApiError as exc:
            broken += 1
            click.echo(f"{record.id}\t{record.name}\t{record.token}\t{exc.message}")
    click.echo(f"{len(records)} connections checked, {broken} break a rule")
    if broken:
        sys.exit(1)


@main.group()
def keys() -> None:
    """DBCONNECTOR_SECRET_KEY rotation: which key sealed the stored secrets."""


def _print_tallies(tallies, kids: tuple[str, ...]) -> int:  # type: ignore[no-untyped-def]
    """Print each sealed column's counts per key; return the rows no listed key opens."""
    unreadable = 0
    for tally in tallies:
        counts = [f"{tally.by_key[0]} on the current key ({kids[0]})"]
        counts += [
            f"{count} on previous key {number} ({kid})"
            for number, (count, kid) in enumerate(zip(tally.by_key[1:], kids[1:], strict=True), 1)
        ]
        if tally.unreadable:
            counts.append(f"{tally.unreadable} sealed with no listed key")
        click.echo(f"{tally.label}: " + ", ".join(counts))
        unreadable += tally.unreadable
    return unreadable


@keys.command("status")
def keys_status() -> None:
    """Count the stored secrets sealed with each key (changes nothing)."""
    from .store import rotation
    from .store.secrets import SecretBox

    settings = _settings()
    ring = settings.key_ring
    box = SecretBox.of(ring)
    _print_tallies(rotation.status(_engine(settings), box), ring.kids)


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret sealed with a previous key with the current key.

    One short transaction per row; safe to stop and run again while the service serves.
    """
    from .store import rotation
    from .store.secrets import SecretBox

    settings = _settings()
    ring = settings.key_ring
    box = SecretBox.of(ring)
    tallies = rotation.rotate(_engine(settings), box)
    for tally in tallies:
        click.echo(f"{tally.label}: {tally.resealed} re-encrypted with the current key")
        if tally.changed_meanwhile:
            click.echo(
                f"{tally.label}: {tally.changed_meanwhile} changed while rotating; run it again"
            )
    unreadable = _print_tallies(tallies, ring.kids)
    if unreadable or any(tally.changed_meanwhile or tally.on_previous_keys for tally in tallies):
        raise click.ClickException(
            "rotation is incomplete: keep the previous keys listed"
            + (" (rows sealed with no listed key cannot be read with any)" if unreadable else "")
        )


@main.command()
@click.option("--reset", is_flag=True, help="Rebuild testTable with its 8 rows")
def demo(reset: bool) -> None:
    """Seed the demo: devuser / Boston2021, connection 'demo' with the specification's testTable."""
    from .store.seed import DEMO_TOKEN, seed_demo

    settings = _settings()
    seed_demo(_engine(settings), settings, reset=reset)
    click.echo(f"demo ready: devuser / Boston2021, connToken {DEMO_TOKEN}")


def project_root() -> Path:
    """Where wsgi.py and gunicorn.conf.py live: beside the package, or the working directory."""
    beside = Path(__file__).resolve().parent.parent
    return beside if (beside / "wsgi.py").is_file() else Path.cwd()


@main.command()
@click.option("--migrate/--no-migrate", default=True, help="Apply migrations first (default on)")
def serve(migrate: bool) -> None:
    """Migrate, create the configured OWNER, seed the demo if DBCONNECTOR_DEMO=1, run gunicorn.

    HOST and PORT (default 127.0.0.1:8000), DBCONNECTOR_WORKERS and DBCONNECTOR_THREADS are read
    by gunicorn.conf.py.
    """
    from .store.migrate import upgrade
    from .store.seed import ensure_owner, seed_demo

    settings = _settings()
    engine = _engine(settings)
    if migrate:
        upgrade(engine)
    ensure_owner(engine, settings)
    if settings.demo:
        seed_demo(engine, settings)
    engine.dispose()
    # gunicorn runs from the project root: pin the data dir so a relative one still means here.
    os.environ["DBCONNECTOR_DATA_DIR"] = str(settings.data_dir.resolve())
    root = project_root()
    if not (root / "wsgi.py").is_file():
        raise click.ClickException(f"no wsgi.py in {root}; run from the DBConnector directory")
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--chdir",
        str(root),
        "--config",
        str(root / "gunicorn.conf.py"),
        "wsgi:app",
    ]
    os.execv(sys.executable, args)  # noqa: S606 - replaces this process with gunicorn


@main.command()
@click.option("--burst", is_flag=True, help="Stop once the queue is empty")
def worker(burst: bool) -> None:
    """Run one dedicated job worker process on DBCONNECTOR_JOB_BROKER_URL (RQ on Redis), with
    serve's settings (metadata database URL, secret key); run as many as needed, on any machine.
    """
    from .execution.jobs.dedicated import main as work

    if not _settings().job_broker_url:  # a configuration error reads as one line
        raise click.ClickException("dbconnector worker needs DBCONNECTOR_JOB_BROKER_URL (redis://)")
    work(burst)


if __name__ == "__main__":
    main()
