"""Settings: the read replica's URL is checked when it is read, with a message naming it."""

import pytest

from service.settings import Settings, SettingsError

PRIMARY = "postgresql://app:s3cret@db.internal:6432/appraisal?schema=street"


def settings(**env: str) -> Settings:
    return Settings.from_env({"APPRAISAL_DATA_DIR": "/tmp/x", **env})


def test_no_replica_by_default() -> None:
    assert settings(APPRAISAL_DATABASE_URL=PRIMARY).read_replica_connection() is None


def test_the_replica_takes_the_primarys_schema_unless_it_names_one() -> None:
    configured = settings(
        APPRAISAL_DATABASE_URL=PRIMARY,
        APPRAISAL_READ_DATABASE_URL="postgresql://reader@replica.internal/appraisal",
    )
    assert configured.read_replica_connection() == {
        "dbname": "appraisal",
        "host": "replica.internal",
        "port": 5432,
        "user": "reader",
        "password": "",
        "schema": "street",
        "pool_size": 5,
        "connect_timeout": 10,
    }
    named = settings(
        APPRAISAL_DATABASE_URL=PRIMARY,
        APPRAISAL_READ_DATABASE_URL="postgresql://reader@replica.internal/appraisal?schema=other",
    )
    assert named.read_replica_connection()["schema"] == "other"


def test_the_primary_connection_is_unchanged_by_the_replica() -> None:
    env = settings(APPRAISAL_DATABASE_URL=PRIMARY).store_env()
    assert {k: env[k] for k in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_SCHEMA")} == {
        "POSTGRES_HOST": "db.internal",
        "POSTGRES_PORT": "6432",
        "POSTGRES_SCHEMA": "street",
    }
    assert env["POSTGRES_PASSWORD"] == "s3cret"


@pytest.mark.parametrize(
    ("primary", "replica", "message"),
    [
        ("sqlite:///tmp/a.sqlite3", "postgresql://r@h/db", "needs a PostgreSQL primary"),
        (PRIMARY, "sqlite:///tmp/a.sqlite3", "APPRAISAL_READ_DATABASE_URL must be a postgresql"),
        (PRIMARY, "postgresql://r@h/", "APPRAISAL_READ_DATABASE_URL: the PostgreSQL URL names"),
    ],
)
def test_an_unusable_replica_url_is_refused_naming_the_variable(
    primary: str, replica: str, message: str
) -> None:
    configured = settings(APPRAISAL_DATABASE_URL=primary, APPRAISAL_READ_DATABASE_URL=replica)
    with pytest.raises(SettingsError, match=message):
        configured.read_replica_connection()
