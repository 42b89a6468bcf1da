from __future__ import annotations

import dataclasses
import importlib.util
import os
import stat
import typing
from pathlib import Path

import pytest

from dbconnector.config import ConfigError, Settings, markdown_table, variable

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "settings_table", ROOT / "scripts" / "settings_table.py"
)
settings_table = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(settings_table)  # type: ignore[union-attr]


def test_defaults(tmp_path):
    settings = Settings.from_env({"DBCONNECTOR_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'dbconnector.db'}"
    assert settings.ratelimit_storage_url == "shm://"  # shared by the instance's workers
    assert (settings.access_ttl, settings.refresh_ttl) == (180, 900)
    assert settings.demo is False
    assert (settings.job_workers, settings.job_timeout, settings.job_retain) == (2, 3600, 3600)


def test_job_settings_are_read(tmp_path):
    settings = Settings.from_env(
        {
            "DBCONNECTOR_DATA_DIR": str(tmp_path),
            "DBCONNECTOR_JOB_WORKERS": "0",
            "DBCONNECTOR_JOB_RETAIN": "60",
            "DBCONNECTOR_JOB_MAX_RESULT_BYTES": "2048",
            "DBCONNECTOR_JOB_MAX_ACTIVE": "3",
        }
    )
    assert (settings.job_workers, settings.job_retain) == (0, 60)
    assert (settings.job_max_result_bytes, settings.job_max_active) == (2048, 3)


def test_secret_is_created_once_with_mode_0600(tmp_path):
    first = Settings.from_env({"DBCONNECTOR_DATA_DIR": str(tmp_path)}).secret_key
    second = Settings.from_env({"DBCONNECTOR_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_production_requires_a_secret(tmp_path):
    with pytest.raises(ConfigError, match="DBCONNECTOR_SECRET_KEY is required"):
        Settings.from_env({"DBCONNECTOR_DATA_DIR": str(tmp_path), "DBCONNECTOR_ENV": "production"})
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("DBCONNECTOR_RATELIMIT", "lots", "DBCONNECTOR_RATELIMIT"),
        ("DBCONNECTOR_AUTH_RATELIMIT", "5 per never", "DBCONNECTOR_AUTH_RATELIMIT"),
        ("DBCONNECTOR_RATELIMIT_STORAGE_URL", "mongodb://x", "DBCONNECTOR_RATELIMIT_STORAGE_URL"),
        ("DBCONNECTOR_TRUSTED_PROXIES", "-1", "DBCONNECTOR_TRUSTED_PROXIES"),
        ("DBCONNECTOR_DEMO", "maybe", "DBCONNECTOR_DEMO"),
        ("DBCONNECTOR_SECRET_KEY", "short", "at least 16"),
        ("DBCONNECTOR_OWNER_USERNAME", "boss", "go together"),
        ("DBCONNECTOR_STATEMENT_TIMEOUT", "soon", "DBCONNECTOR_STATEMENT_TIMEOUT"),
        ("DBCONNECTOR_BCRYPT_ROUNDS", "3", "DBCONNECTOR_BCRYPT_ROUNDS must be between 4 and 16"),
        ("DBCONNECTOR_BCRYPT_ROUNDS", "17", "DBCONNECTOR_BCRYPT_ROUNDS must be between 4 and 16"),
        ("DBCONNECTOR_JOB_WORKERS", "-1", "DBCONNECTOR_JOB_WORKERS must be between 0 and 64"),
        ("DBCONNECTOR_JOB_TIMEOUT", "90000", "may not exceed their _MAX_ caps"),
        ("DBCONNECTOR_JOB_LEASE_SECONDS", "1", "DBCONNECTOR_JOB_LEASE_SECONDS"),
        ("DBCONNECTOR_JOB_BROKER_URL", "amqp://mq", "DBCONNECTOR_JOB_BROKER_URL must be a redis"),
        ("DBCONNECTOR_JOB_QUEUE", "q" * 101, "DBCONNECTOR_JOB_QUEUE must be a name"),
    ],
)
def test_bad_settings_name_the_variable(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"DBCONNECTOR_DATA_DIR": str(tmp_path), name: value})


def test_repr_never_shows_secrets(tmp_path):
    settings = Settings.from_env(
        {
            "DBCONNECTOR_DATA_DIR": str(tmp_path),
            "DBCONNECTOR_SECRET_KEY": "super-secret-value-123",
            "DBCONNECTOR_OWNER_USERNAME": "boss",
            "DBCONNECTOR_OWNER_PASSWORD": "boss-password-xyz",
            "DBCONNECTOR_DATABASE_URL": "postgresql://u:dbpass@h/db",
        }
    )
    text = repr(settings)
    assert "super-secret" not in text and "boss-password" not in text and "dbpass" not in text


LONG_KEY = "k" * 32
OLD_KEY = "old-key-0123456789abcdef"


def test_previous_keys_are_read_newest_first_from_the_variable_or_a_file(tmp_path):
    base = {"DBCONNECTOR_DATA_DIR": str(tmp_path), "DBCONNECTOR_SECRET_KEY": LONG_KEY}
    listed = {**base, "DBCONNECTOR_PREVIOUS_SECRET_KEYS": f" {OLD_KEY} , older-key-0123456789 ,"}
    assert Settings.from_env(listed).previous_secret_keys == (OLD_KEY, "older-key-0123456789")
    current, previous = tmp_path / "current", tmp_path / "previous"
    current.write_text(LONG_KEY + "\n")
    previous.write_text(f"{OLD_KEY}\nolder-key-0123456789\n")
    files = {
        "DBCONNECTOR_DATA_DIR": str(tmp_path),
        "DBCONNECTOR_SECRET_KEY_FILE": str(current),
        "DBCONNECTOR_PREVIOUS_SECRET_KEYS_FILE": str(previous),
    }
    settings = Settings.from_env(files)
    assert settings.secret_key == LONG_KEY
    assert settings.previous_secret_keys == (OLD_KEY, "older-key-0123456789")
    assert OLD_KEY not in repr(settings) and LONG_KEY not in repr(settings)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"DBCONNECTOR_SECRET_KEY": "s" * 31}, "DBCONNECTOR_SECRET_KEY must be at least 32 bytes"),
        (
            {"DBCONNECTOR_SECRET_KEY": LONG_KEY, "DBCONNECTOR_PREVIOUS_SECRET_KEYS": LONG_KEY},
            "DBCONNECTOR_SECRET_KEY must differ from every key in DBCONNECTOR_PREVIOUS_SECRET_KEYS",
        ),
        (
            {"DBCONNECTOR_SECRET_KEY": LONG_KEY, "DBCONNECTOR_PREVIOUS_SECRET_KEYS": "short"},
            "every key in DBCONNECTOR_PREVIOUS_SECRET_KEYS must be at least 16 characters",
        ),
        (
            {"DBCONNECTOR_SECRET_KEY": LONG_KEY, "DBCONNECTOR_SECRET_KEY_FILE": "/etc/hostname"},
            "set DBCONNECTOR_SECRET_KEY or DBCONNECTOR_SECRET_KEY_FILE, not both",
        ),
        (
            {"DBCONNECTOR_SECRET_KEY_FILE": "/no/such/file"},
            "DBCONNECTOR_SECRET_KEY_FILE does not name a readable text file",
        ),
    ],
)
def test_production_refuses_weak_or_repeated_keys_naming_the_variable(tmp_path, values, message):
    environ = {"DBCONNECTOR_DATA_DIR": str(tmp_path), "DBCONNECTOR_ENV": "production", **values}
    with pytest.raises(ConfigError, match=message) as caught:
        Settings.from_env(environ)
    assert LONG_KEY not in str(caught.value)


def test_a_short_previous_key_is_accepted_in_production_so_it_can_be_rotated_away(tmp_path):
    environ = {
        "DBCONNECTOR_DATA_DIR": str(tmp_path),
        "DBCONNECTOR_ENV": "production",
        "DBCONNECTOR_SECRET_KEY": LONG_KEY,
        "DBCONNECTOR_PREVIOUS_SECRET_KEYS": OLD_KEY,  # 24 characters: allowed before this rule
    }
    assert Settings.from_env(environ).key_ring.secrets == (LONG_KEY, OLD_KEY)


def test_the_docs_settings_table_is_the_declared_one():
    page = (ROOT / "docs" / "operations.md").read_text()
    assert markdown_table() in page, "docs/operations.md is stale: run scripts/settings_table.py"
    assert settings_table.rewritten(page) == page


def test_every_setting_is_read_from_its_variable_and_checked_against_its_bounds(tmp_path):
    """Each declared field is read from DBCONNECTOR_<NAME>; a number outside its bounds names it."""
    hints = typing.get_type_hints(Settings)
    for declared in dataclasses.fields(Settings):
        spec = declared.metadata["setting"]
        name = variable(declared.name)
        assert name in markdown_table()
        if hints[declared.name] is int and spec.high is not None:
            environ = {"DBCONNECTOR_DATA_DIR": str(tmp_path), name: str(int(spec.high) + 1)}
            with pytest.raises(ConfigError, match=f"{name} must be between"):
                Settings.from_env(environ)


def test_a_list_setting_splits_and_tidies_its_items(tmp_path):
    root = tmp_path / "targets"
    root.mkdir()
    settings = Settings.from_env(
        {
            "DBCONNECTOR_DATA_DIR": str(tmp_path),
            "DBCONNECTOR_CORS_ORIGINS": " https://a.example.org/ ,,http://b.example.org",
            "DBCONNECTOR_SQLITE_ROOTS": f"{root}{os.pathsep}",
            "DBCONNECTOR_LOG_LEVEL": "debug",
        }
    )
    assert settings.cors_origins == ("https://a.example.org", "http://b.example.org")
    assert settings.sqlite_roots == (root,)
    assert settings.log_level == "DEBUG"
    with pytest.raises(ConfigError, match=r"DBCONNECTOR_SQLITE_ROOTS names .* not a directory"):
        Settings.from_env(
            {"DBCONNECTOR_DATA_DIR": str(tmp_path), "DBCONNECTOR_SQLITE_ROOTS": str(root / "no")}
        )
