from __future__ import annotations

import os
import stat

import pytest

from dbconnector.config import ConfigError, Settings


def test_defaults(tmp_path):
    settings = Settings.from_env({"DBCONNECTOR_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'dbconnector.db'}"
    assert settings.ratelimit_storage_url == "memory://"
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
