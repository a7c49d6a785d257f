"""Language: Chinese by default, switchable per user; catalogues compiled on start when stale."""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app, request, session
from flask_login import current_user

ROOT = Path(__file__).resolve().parents[2]
# Every package keeps its own catalogue so that features own their strings.
TRANSLATION_DIRS = [
    ROOT / "lms" / "translations",
    ROOT / "lms" / "offline" / "translations",
    ROOT / "lms" / "training" / "translations",
    ROOT / "lms" / "culture" / "translations",
    ROOT / "courses" / "translations",
    ROOT / "quizzes" / "translations",
    ROOT / "certificates" / "translations",
]


def translation_dirs() -> list[str]:
    """Return the catalogue folders that exist."""
    return [str(d) for d in TRANSLATION_DIRS if d.exists()]


def compile_catalogs() -> None:
    """Compile every ``messages.po`` whose ``.mo`` is missing or older (atomic, safe for many workers)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for base in TRANSLATION_DIRS:
        for po in base.glob("*/LC_MESSAGES/messages.po"):
            lang = po.parent.parent.name
            # Babel resolves zh_CN to zh_Hans_CN, and gettext then looks for zh_Hans_CN or zh, never zh_CN.
            target = base / ("zh" if lang.startswith("zh") else lang) / "LC_MESSAGES"
            target.mkdir(parents=True, exist_ok=True)
            mo = target / "messages.mo"
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with open(po, "rb") as fh:
                catalog = read_po(fh)
            tmp = mo.with_name(f"messages.mo.{os.getpid()}.tmp")
            with open(tmp, "wb") as out:
                write_mo(out, catalog)
            tmp.replace(mo)


def select_locale() -> str:
    """Pick the user's language, else the session's choice, else Chinese."""
    langs = current_app.config["LANGUAGES"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in langs:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in langs:
        return chosen
    if request and request.args.get("lang") in langs:
        return request.args["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]
