"""Configuration read from the environment (prefix ``LMS_``), with overrides for tests."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from lms.core.slots import default_queue, default_slots

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def instance_dir() -> Path:
    """Return the instance folder (``LMS_INSTANCE_DIR`` or ``./instance`` beside the project)."""
    path = Path(os.environ.get("LMS_INSTANCE_DIR") or PROJECT_ROOT / "instance")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(inst: Path) -> str:
    """Return LMS_SECRET_KEY, or one generated once into the instance folder."""
    if os.environ.get("LMS_SECRET_KEY"):
        return os.environ["LMS_SECRET_KEY"]
    key_file = inst / "secret_key"
    if not key_file.exists():
        tmp = key_file.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        os.chmod(tmp, 0o600)
        tmp.replace(key_file)
    return key_file.read_text().strip()


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Every setting, its default and what it does; README's table is generated from the same words.
SETTINGS_DOC = {
    "LMS_DATABASE_URL": "SQLAlchemy URL. Default: SQLite file instance/lms.sqlite3. PostgreSQL: postgresql+psycopg://user@host/db",
    "LMS_SECRET_KEY": "Signs sessions and CSRF tokens. Default: generated once into instance/secret_key",
    "LMS_MEDIA_DIR": "Where uploads, videos and generated files live. Default: instance/media",
    "LMS_REDIS_URL": "When set, background jobs go to RQ on this Redis; otherwise in-process worker threads",
    "LMS_DEMO_PASSWORD": "Password of the demo accounts made by `lms demo`. Default: demo-2026",
    "LMS_PORT": "Port of `scripts/run`. Default: 5000",
    "LMS_INSTANCE_DIR": "Instance folder (database, secret key, media). Default: ./instance",
    "LMS_FFMPEG": "Path of the ffmpeg binary. Default: ffmpeg on PATH, else the one in the imageio-ffmpeg wheel",
    "LMS_MAX_UPLOAD_MB": "Largest upload accepted, in MiB. Default: 2048",
    "LMS_SECURE_COOKIES": "Mark cookies Secure (serve over HTTPS). Default: off",
    "LMS_SENDFILE_HEADER": "X-Accel-Redirect or X-Sendfile to let nginx/Apache send media. Default: none",
    "LMS_SENDFILE_PREFIX": "Internal URL prefix (nginx) mapped to LMS_MEDIA_DIR for X-Accel-Redirect",
    "LMS_SMTP_URL": "smtp://user:pass@host:port for reminder e-mail. Default: none (in-app only)",
    "LMS_MAIL_FROM": "Sender address of reminder e-mail",
    "LMS_PUBLIC_URL": "Public base URL of every absolute link (certificates' QR codes, e-mail). Default: the request's host "
    "when it is one of LMS_TRUSTED_HOSTS, else http://localhost:5000",
    "LMS_TRUSTED_HOSTS": "Comma-separated host names the app answers to (others get 400; '.example.cn' matches "
    "subdomains). Default: any host, but then no absolute link is built from the request's Host header. "
    "scripts/run sets 127.0.0.1,localhost",
    "LMS_JOBS": "eager|thread|rq: how enqueue() runs jobs. Default: rq with LMS_REDIS_URL, else thread",
    "LMS_LOGIN_MAX_FAILURES": "Consecutive failed sign-ins of one account (whatever identifier was typed) that lock it "
    "for LMS_LOGIN_LOCK_MINUTES. Default: 10",
    "LMS_LOGIN_FREE_FAILURES": "Failures of an account before each further attempt must wait (2 s, 4 s, 8 s … up to "
    "LMS_LOGIN_MAX_DELAY_SECONDS). Default: 3",
    "LMS_LOGIN_MAX_DELAY_SECONDS": "Longest wait between attempts before the lock. Default: 60",
    "LMS_LOGIN_LOCK_MINUTES": "How long the short lock lasts (a device where the account signed in before is not "
    "locked out; managers clear locks on the sign-in locks page). Default: 10",
    "LMS_LOGIN_WINDOW_MINUTES": "Failures older than this are forgotten (per account and per address). Default: 15",
    "LMS_LOGIN_MAX_FAILURES_ADDRESS": "Failed sign-ins from one address within the window before it must wait (known "
    "devices pass). Default: 20",
    "LMS_LOGIN_HASH_SLOTS": "Password checks (scrypt, 50-100 ms of CPU each) run at once on this host, all web "
    "processes together; a sign-in rush then cannot starve other requests. 0: unbounded. Default: half the cores "
    "(at least 1)",
    "LMS_LOGIN_HASH_QUEUE": "Threads of one web process that may sign people in at once (the others stay free; "
    "the next sign-in is asked to try again in a few seconds). Default: half of LMS_THREADS (at least 1)",
    "LMS_LOGIN_HASH_WAIT_SECONDS": "Longest wait for a check's slot before the person is asked to try again in a few "
    "seconds (503 with Retry-After, nothing charged to the account). Default: 10",
    "LMS_LOGIN_HASH_SHARE": "In a sign-in rush, the part of a core each check slot may spend on password checks. The "
    "checks run at the host's idle priority (they get only CPU nobody else wants), so 1 holds nothing more back; "
    "lower it to keep cores idle for a burst. Default: 1",
    "LMS_LOGIN_IDLE_SECONDS": "Longest wait for a password check at the host's idle priority (seconds); past it the "
    "check is done in the web worker's own thread, so that a host kept busy (a video being transcoded) cannot hold "
    "sign-ins back for long. 0: always in the worker's thread. Default: 2",
    "LMS_LOGIN_LINE_SECONDS": "Longest wait in the line of sign-ins of a rush (seconds): each sign-in takes a number "
    "and is told when to come back (Retry-After); a wait longer than this gives no number. Default: 900",
    "LMS_THREADS": "Threads of each gunicorn worker of scripts/run (sizes LMS_LOGIN_HASH_QUEUE). Default: 4",
}


def _trusted_hosts(value: str | None, public_url: str | None) -> list[str] | None:
    """Return Flask's TRUSTED_HOSTS from LMS_TRUSTED_HOSTS (plus LMS_PUBLIC_URL's host), or None when unset."""
    hosts = [h.strip() for h in (value or "").split(",") if h.strip()]
    if not hosts:
        return None
    if public_url:
        from urllib.parse import urlsplit

        host = urlsplit(public_url).hostname
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment and ``overrides``."""
    env = os.environ
    inst = instance_dir()
    max_mb = int(env.get("LMS_MAX_UPLOAD_MB", "2048"))
    cfg: dict[str, Any] = {
        "SECRET_KEY": _secret_key(inst),
        "DATABASE_URL": env.get("LMS_DATABASE_URL") or f"sqlite:///{inst / 'lms.sqlite3'}",
        "MEDIA_DIR": env.get("LMS_MEDIA_DIR") or str(inst / "media"),
        "REDIS_URL": env.get("LMS_REDIS_URL") or None,
        "JOBS_MODE": env.get("LMS_JOBS") or ("rq" if env.get("LMS_REDIS_URL") else "thread"),
        "DEMO_PASSWORD": env.get("LMS_DEMO_PASSWORD") or "demo-2026",
        "FFMPEG": env.get("LMS_FFMPEG") or None,
        "MAX_CONTENT_LENGTH": max_mb * 1024 * 1024,
        "SENDFILE_HEADER": env.get("LMS_SENDFILE_HEADER") or None,
        "SENDFILE_PREFIX": env.get("LMS_SENDFILE_PREFIX") or "/protected-media/",
        "SMTP_URL": env.get("LMS_SMTP_URL") or None,
        "MAIL_FROM": env.get("LMS_MAIL_FROM") or "lms@localhost",
        "PUBLIC_URL": env.get("LMS_PUBLIC_URL") or None,
        "TRUSTED_HOSTS": _trusted_hosts(env.get("LMS_TRUSTED_HOSTS"), env.get("LMS_PUBLIC_URL")),
        "LOGIN_MAX_FAILURES_ACCOUNT": int(env.get("LMS_LOGIN_MAX_FAILURES") or "10"),
        "LOGIN_FREE_FAILURES": int(env.get("LMS_LOGIN_FREE_FAILURES") or "3"),
        "LOGIN_MAX_DELAY_SECONDS": float(env.get("LMS_LOGIN_MAX_DELAY_SECONDS") or "60"),
        "LOGIN_LOCK_MINUTES": float(env.get("LMS_LOGIN_LOCK_MINUTES") or "10"),
        "LOGIN_WINDOW_MINUTES": float(env.get("LMS_LOGIN_WINDOW_MINUTES") or "15"),
        "LOGIN_MAX_FAILURES_ADDRESS": int(env.get("LMS_LOGIN_MAX_FAILURES_ADDRESS") or "20"),
        "LOGIN_HASH_SLOTS": int(env.get("LMS_LOGIN_HASH_SLOTS") or default_slots()),
        "LOGIN_HASH_QUEUE": int(
            env.get("LMS_LOGIN_HASH_QUEUE") or default_queue(int(env.get("LMS_THREADS") or 4))
        ),
        "LOGIN_HASH_WAIT_SECONDS": float(env.get("LMS_LOGIN_HASH_WAIT_SECONDS") or "10"),
        "LOGIN_LINE_SECONDS": float(env.get("LMS_LOGIN_LINE_SECONDS") or "900"),
        "LOGIN_HASH_SHARE": float(env.get("LMS_LOGIN_HASH_SHARE") or "1"),
        "LOGIN_IDLE_SECONDS": float(env.get("LMS_LOGIN_IDLE_SECONDS") or "2"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("LMS_SECURE_COOKIES")),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("LMS_SECURE_COOKIES")),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        # The platform's default time zone; each enterprise may set its own (Enterprise.time_zone).
        "LMS_TIMEZONE": env.get("LMS_TIMEZONE") or "Asia/Shanghai",
        "BABEL_DEFAULT_TIMEZONE": env.get("LMS_TIMEZONE") or "Asia/Shanghai",
        "LANGUAGES": {"zh_CN": "中文", "en": "English"},
        "TESTING": False,
    }
    if overrides:
        cfg.update(overrides)
    return cfg
