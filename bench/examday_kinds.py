"""The request kinds of the exam-day benchmark, by method and path (shared by the load generator and the
gunicorn hooks that measure CPU per kind)."""

from __future__ import annotations

import re

KINDS = [
    "sign-in page",
    "sign-in",
    "sign-in refused (busy)",
    "my exams page",
    "start page",
    "start",
    "paper",
    "static files",
    "autosave",
    "submit",
    "result",
    "other",
]

_RULES = [
    ("GET", re.compile(r"^/login$"), "sign-in page"),
    ("POST", re.compile(r"^/login$"), "sign-in"),
    ("GET", re.compile(r"^/quizzes/?$"), "my exams page"),
    ("GET", re.compile(r"^/quizzes/exams/\d+/start$"), "start page"),
    ("POST", re.compile(r"^/quizzes/exams/\d+/start$"), "start"),
    ("GET", re.compile(r"^/quizzes/attempts/\d+$"), "paper"),
    ("POST", re.compile(r"^/quizzes/attempts/\d+/answer$"), "autosave"),
    ("POST", re.compile(r"^/quizzes/attempts/\d+/submit$"), "submit"),
    ("GET", re.compile(r"^/quizzes/attempts/\d+/result$"), "result"),
    (None, re.compile(r"^(/[\w-]+)?/static/"), "static files"),
]


def classify(method: str, path: str) -> str:
    """The kind of a request (``other`` for anything the exam day does not send, e.g. the readiness probe)."""
    path, _, query = path.partition("?")
    if "warmup=" in query:
        return "other"
    for m, pattern, kind in _RULES:
        if (m is None or m == method) and pattern.search(path):
            return kind
    return "other"
