"""The data dir is 0700 and the service's files in it 0600 (the metadata database with its -wal
and -shm, the secret key, lock files), whatever the umask, for a new data dir and an old one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dbconnector import create_app
from dbconnector.config import Settings
from dbconnector.store.db import make_engine, write
from dbconnector.store.migrate import upgrade


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _serve_once(data_dir: Path) -> None:
    """Start on `data_dir`, write, and check the modes while a connection keeps -wal and -shm."""
    settings = Settings(env="test", data_dir=data_dir, bcrypt_rounds=4, job_workers=0).validated()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    create_app(settings)
    with engine.connect() as held:
        held.exec_driver_sql("SELECT count(*) FROM users")
        with write(engine) as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS scratch (n INTEGER)")
        _assert_private(data_dir)
    engine.dispose()


def _assert_private(data_dir: Path) -> None:
    assert _mode(data_dir) == 0o700
    files = [data_dir / name for name in ("dbconnector.db", "secret_key")]
    files += [data_dir / f"dbconnector.db{suffix}" for suffix in ("-wal", "-shm", ".writelock")]
    for path in files:
        assert path.exists(), path
        assert _mode(path) == 0o600, (path, oct(_mode(path)))


def test_a_new_data_dir_is_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        _serve_once(tmp_path / "var")
    finally:
        os.umask(old)


def test_an_existing_open_data_dir_is_narrowed(tmp_path):
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    for name in ("dbconnector.db", "dbconnector.db-wal", "dbconnector.db-shm"):
        (data_dir / name).touch()
    for path in (data_dir, *data_dir.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    _serve_once(data_dir)
