"""The ``lms`` command: Flask's CLI (run, shell, routes) plus our own commands (``lms.commands``), which the app
factory attaches; this module only builds the app for them, so nothing below it imports it."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from lms.app import create_app
from lms.commands import alembic_config, emit_json  # noqa: F401 - the names scripts and tests use


def _create_app() -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Safety-training LMS."""
