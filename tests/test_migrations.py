"""The models and the migrations agree (the suite's schema is built by the migrations), on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lms.app import import_models
from lms.core.db import Base, db


def test_models_match_migrations(app):
    import_models()
    conn = (
        db.session.connection()
    )  # the test's own connection: a second one would wait on SQLite's write lock
    ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
    diffs = compare_metadata(ctx, Base.metadata)
    assert diffs == [], "\n".join(str(d) for d in diffs)


def test_downgrade_then_upgrade(tmp_path):
    from alembic import command

    from lms.cli import alembic_config

    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    command.upgrade(alembic_config(url), "head")
    command.downgrade(alembic_config(url), "base")
    command.upgrade(alembic_config(url), "head")
