"""WSGI entry point: ``gunicorn wsgi:app``."""

import gc

from lms.app import create_app

app = create_app()

# What create_app built (the app, its routes, templates, SQLAlchemy's mappers and compiled statements) lives as
# long as the worker. Moved out of the collector's sight, a full collection no longer walks it: a request that
# makes many objects (grading a 50-question exam, an import) triggers full collections, and each walked the whole
# heap (exam submit: 22 ms -> 10 ms of CPU in bench/README.md's measurement).
gc.collect()
gc.freeze()
