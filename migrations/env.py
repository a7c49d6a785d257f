"""Alembic environment: our metadata, batch mode for SQLite, the URL from the app's configuration."""

from __future__ import annotations

import os

from alembic import context

from lms.app import import_models
from lms.core.db import Base, make_engine

config = context.config
# LMS_MIGRATION_MODULES (comma-separated model modules) lets a new revision cover one feature at a time.
_only = os.environ.get("LMS_MIGRATION_MODULES")
if _only:
    import importlib

    for _name in _only.split(","):
        importlib.import_module(_name.strip())
else:
    import_models()
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from lms.core.config import load_config

        url = load_config()["DATABASE_URL"]
    return url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
