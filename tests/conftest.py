"""Shared fixtures: one app per test run, one rolled-back transaction per test, factories for people.

The database is SQLite by default, or the URL in LMS_TEST_DATABASE_URL (scripts/test runs the suite a second
time on PostgreSQL). The schema is built by the Alembic migrations, so every run also tests them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

_TMP = Path(tempfile.mkdtemp(prefix="lms-test-"))
os.environ.setdefault("LMS_INSTANCE_DIR", str(_TMP / "instance"))
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Each worker its own instance folder: its lock files and line of sign-ins (lms.core.slots) are the host's by
    # design, and one worker's test of a busy sign-in must not make the other's sign-ins wait.
    os.environ["LMS_INSTANCE_DIR"] = str(
        Path(os.environ["LMS_INSTANCE_DIR"]) / os.environ["PYTEST_XDIST_WORKER"]
    )
os.environ.setdefault("LMS_SECRET_KEY", "test-secret-key")

from lms.core.db import db  # noqa: E402

TEST_PASSWORD = "Passw0rd-test"
_counter = itertools.count(1)


def database_url(suffix: str = "") -> str:
    """The test database: SQLite in a temporary folder, or LMS_TEST_DATABASE_URL.

    Under pytest-xdist each worker gets its own PostgreSQL database (``<name>_gw0`` …), created on demand;
    ``suffix`` names further private databases (the browser tests' live server).
    """
    url = os.environ.get("LMS_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{_TMP / ('test' + suffix + '.sqlite3')}"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not (worker or suffix) or not url.startswith("postgresql"):
        return url
    base, _, name = url.rpartition("/")
    private = f"{name}_{worker}{suffix}".replace("-", "_")
    _ensure_pg_database(url, private)
    return f"{base}/{private}"


def _ensure_pg_database(admin_url: str, name: str) -> None:
    import psycopg

    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Keep every browser journey on one xdist worker: they share one live server (one demo load).

    A browser test that names its own xdist group keeps it (the every-page crawl: one group per role and
    language, which xdist spreads over the workers; a worker starts its live server the first time it needs it)."""
    for item in items:
        if "/tests/e2e/" in str(item.fspath).replace("\\", "/"):
            if item.get_closest_marker("xdist_group") is None:
                item.add_marker(pytest.mark.xdist_group("e2e"))
            item.add_marker(pytest.mark.e2e)


def _reset_schema(url: str) -> None:
    from alembic import command

    from lms.cli import alembic_config
    from lms.core.db import make_engine

    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    if os.environ.get("LMS_TEST_SCHEMA") == "create_all":
        from lms.app import import_models
        from lms.core.db import Base

        import_models()
        if engine.dialect.name == "sqlite":
            Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        engine.dispose()
        return
    engine.dispose()
    command.upgrade(alembic_config(url), "head")


@pytest.fixture(scope="session")
def app() -> Any:
    from lms.app import create_app

    url = database_url()
    _reset_schema(url)
    application = create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "MEDIA_DIR": str(_TMP / "media"),
            "JOBS_MODE": "eager",
            "SERVER_NAME": "lms.test",
            "PUBLIC_URL": "http://lms.test",
        }
    )
    with application.app_context():
        yield application


@pytest.fixture(autouse=True)
def _transaction(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run each test inside a transaction rolled back at its end (requests commit to savepoints)."""
    if "app" not in request.fixturenames and not any(
        f in request.fixturenames for f in ("client", "session", "make_enterprise", "make_person")
    ):
        yield
        return
    request.getfixturevalue("app")
    # An empty line of sign-ins (lms.core.slots) for each test: a sign-in a test left unfinished on purpose (a busy
    # page) must not make a later test wait in line.
    (Path(os.environ["LMS_INSTANCE_DIR"]) / "locks" / "signin.line").unlink(missing_ok=True)
    assert db.engine is not None
    connection = db.engine.connect()
    trans = connection.begin()
    db.session.remove()
    db._factory.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield
    finally:
        db.session.remove()
        if trans.is_active:
            trans.rollback()
        connection.close()
        db._factory.configure(bind=db.engine, join_transaction_mode="conditional_savepoint")


@pytest.fixture
def session(app: Any) -> Any:
    """The scoped session (inside the test's transaction)."""
    return db.session


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture(scope="session")
def password_hash() -> str:
    from lms.org.services import hash_password

    return hash_password(TEST_PASSWORD)


@pytest.fixture
def make_enterprise(app: Any) -> Callable[..., Any]:
    """Create an enterprise: ``make_enterprise(code=None, name=None, high_risk=False)``."""
    from lms.org.services import create_enterprise

    def make(code: str | None = None, name: str | None = None, **kwargs: Any) -> Any:
        n = next(_counter)
        ent = create_enterprise(code or f"E{n:04d}", name or f"测试企业{n}", **kwargs)
        db.session.flush()
        return ent

    return make


@pytest.fixture
def enterprise(make_enterprise: Callable[..., Any]) -> Any:
    return make_enterprise()


@pytest.fixture
def make_person(app: Any, password_hash: str) -> Callable[..., Any]:
    """Create a person with an account that can sign in with TEST_PASSWORD.

    ``make_person(enterprise, name=None, employee_no=None, department="一车间/甲班", post="操作工",
    roles=("一线从业人员",), app_role="learner", hire_date=None)``; the account is ``person.user``.
    """
    from lms.org.models import PersonEvent, User
    from lms.org.services import ensure_department, ensure_post, roles_by_name, set_roles

    def make(
        enterprise: Any,
        name: str | None = None,
        employee_no: str | None = None,
        department: str | None = "一车间/甲班",
        post: str | None = "操作工",
        roles: tuple[str, ...] | list[str] = ("一线从业人员",),
        app_role: str = "learner",
        hire_date: dt.date | None = None,
        phone: str | None = None,
    ) -> Any:
        from lms.org.models import Person

        n = next(_counter)
        dept = ensure_department(enterprise.id, department) if department else None
        p = Person(
            enterprise_id=enterprise.id,
            employee_no=employee_no or f"T{n:05d}",
            name=name or f"员工{n}",
            phone=phone,
            hire_date=hire_date or dt.date(2020, 1, 1),
            department_id=dept.id if dept else None,
            post_id=ensure_post(enterprise.id, post, dept).id if post else None,
        )
        db.session.add(p)
        db.session.flush()
        db.session.add(PersonEvent(person_id=p.id, kind="hired", on=p.hire_date))
        by_name = roles_by_name(enterprise.id)
        set_roles(p, [by_name[r] for r in roles], on=p.hire_date)
        user = User(
            username=f"u{n}-{enterprise.code.lower()}",
            password_hash=password_hash,
            display_name=p.name,
            app_role=app_role,
            enterprise_id=enterprise.id,
            person_id=p.id,
            must_change_password=False,
        )
        db.session.add(user)
        db.session.flush()
        p.user = user
        return p

    return make


@pytest.fixture
def make_user(app: Any, password_hash: str) -> Callable[..., Any]:
    """Create an account without a person (admin, regulator): ``make_user(app_role, enterprise=None)``."""
    from lms.org.models import User

    def make(app_role: str, enterprise: Any = None, username: str | None = None) -> Any:
        n = next(_counter)
        user = User(
            username=username or f"{app_role}{n}",
            password_hash=password_hash,
            display_name=f"{app_role} {n}",
            app_role=app_role,
            enterprise_id=enterprise.id if enterprise else None,
            must_change_password=False,
        )
        db.session.add(user)
        db.session.flush()
        return user

    return make


def login(client: Any, user: Any, password: str = TEST_PASSWORD) -> Any:
    """Sign ``user`` in through the real sign-in form; return the response."""
    resp = client.post("/login", data={"login": user.username, "password": password})
    assert resp.status_code in (302, 303), resp.data[:500]
    return resp


@pytest.fixture
def login_as(
    client: Any, enterprise: Any, make_person: Callable[..., Any], make_user: Callable[..., Any]
) -> Callable[..., Any]:
    """Sign the test client in as a fresh user of ``app_role`` in ``enterprise``; return the user."""

    def do(app_role: str = "learner", ent: Any = None) -> Any:
        ent = ent or enterprise
        if app_role in ("admin", "regulator"):
            user = make_user(app_role, ent if app_role == "admin" else None)
        else:
            user = make_person(ent, app_role=app_role).user
        login(client, user)
        return user

    return do
