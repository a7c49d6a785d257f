"""Enterprises, the department tree, posts, people, responsibility roles, accounts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, utcnow

PERSON_ACTIVE = "active"
PERSON_LEFT = "left"

# Application roles (what a user may do in the system), from least to most powerful within an enterprise.
LEARNER = "learner"
TRAINER = "trainer"
MANAGER = "manager"
ADMIN = "admin"  # platform administrator, across enterprises
REGULATOR = "regulator"  # read-only over the enterprises assigned
EVALUATOR = "evaluator"  # scores culture campaigns (also a learner)
APP_ROLES = (LEARNER, TRAINER, MANAGER, ADMIN, REGULATOR, EVALUATOR)

DEFAULT_RESPONSIBILITY_ROLES = (
    "主要负责人",
    "分管负责人",
    "安全生产管理人员",
    "特种作业人员",
    "特种设备作业人员",
    "班组长",
    "一线从业人员",
)


def _default_zone() -> str:
    from lms.core.timeutil import default_zone_name

    return default_zone_name()


class Enterprise(TimestampMixin, Base):
    """A company using the system."""

    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100))
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    # The administrative region it lies in (所属区域, e.g. "滨江区"): the regulator's list filters by it.
    region: Mapped[str | None] = mapped_column(String(100))
    # "random": random first passwords handed to the manager once; "phone6": last six digits of the phone.
    password_policy: Mapped[str] = mapped_column(String(16), default="random")
    # Whether regulators may see named lists (not only figures).
    share_names_with_regulator: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where its people live: every time shown, printed, exported or typed is in this zone (stored UTC).
    time_zone: Mapped[str] = mapped_column(String(64), default=_default_zone, server_default="Asia/Shanghai")

    departments: Mapped[list[Department]] = relationship(back_populates="enterprise")


class Department(TimestampMixin, Base):
    """An organisational unit in a tree (company → workshop → team); ``path`` is the names joined by '/'."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("enterprise_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(500))
    depth: Mapped[int] = mapped_column(Integer, default=0)

    enterprise: Mapped[Enterprise] = relationship(back_populates="departments")
    parent: Mapped[Department | None] = relationship(remote_side="Department.id")


class Post(TimestampMixin, Base):
    """A job position (岗位); named once per enterprise, optionally homed in a department."""

    __tablename__ = "post"
    __table_args__ = (UniqueConstraint("enterprise_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))


class ResponsibilityRole(TimestampMixin, Base):
    """A safety-responsibility role (安全生产责任角色) such as 班组长."""

    __tablename__ = "responsibility_role"
    __table_args__ = (UniqueConstraint("enterprise_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class PersonRole(Base):
    """A responsibility role held by a person, since when."""

    __tablename__ = "person_role"
    # A role's holders from the index alone (coverage by role: the holders' kept counts by person).
    __table_args__ = (Index("ix_person_role_role_person", "role_id", "person_id"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(
        ForeignKey("responsibility_role.id", ondelete="CASCADE"), primary_key=True
    )
    since: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)


class Person(TimestampMixin, Base):
    """Anyone who must be trained; has an account."""

    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "employee_no"),
        Index("ix_person_enterprise_status", "enterprise_id", "status"),
        # A department's people in employee-number order: the first page of a named list without sorting them all.
        Index("ix_person_department_employee_no", "department_id", "employee_no"),
        # Coverage by department and post: the enterprise's people already grouped, read from the index alone.
        Index("ix_person_enterprise_department_post", "enterprise_id", "department_id", "post_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    employee_no: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    hire_date: Mapped[dt.date | None] = mapped_column(Date)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=PERSON_ACTIVE)
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    # 离岗 / 返岗: away from the post (leave, secondment…) while still employed; back after more than a year,
    # workshop and team education are repeated (《生产经营单位安全培训规定》第十七条).
    away_from: Mapped[dt.date | None] = mapped_column(Date)
    returned_on: Mapped[dt.date | None] = mapped_column(Date)

    enterprise: Mapped[Enterprise] = relationship()
    department: Mapped[Department | None] = relationship()
    post: Mapped[Post | None] = relationship()
    roles: Mapped[list[ResponsibilityRole]] = relationship(
        secondary="person_role", order_by="ResponsibilityRole.sort_order"
    )


class PersonEvent(Base):
    """History of what happened to a person's place (hired, moved post, gained a role, left, returned).

    Requirements read it to know since when a person is subject to something.
    """

    __tablename__ = "person_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # hired, department, post, role_added, role_removed, left, returned
    on: Mapped[dt.date] = mapped_column(Date)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class User(TimestampMixin, Base):
    """An account. People on a roster get one each; admins and regulators may have none of a person."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100))
    app_role: Mapped[str] = mapped_column(String(16), default=LEARNER)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Sign-in throttle of the account, whatever identifier was typed (lms.org.signin): consecutive failures,
    # the last one, and the end of a short lock. Refused attempts change none of them.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failed_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sign_in_locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)

    person: Mapped[Person | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()

    # Flask-Login: the cookie carries the login-session token (set by the loader), never the user id.
    login_token = None
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.is_enabled

    def get_id(self) -> str | None:
        return self.login_token


class RegulatorAssignment(Base):
    """An enterprise a regulator account oversees."""

    __tablename__ = "regulator_assignment"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True
    )


class LoginAttempt(Base):
    """One sign-in attempt, for throttling per account and per address (kept in the database: no node state)."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_login_at", "login", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
        Index("ix_login_attempt_user_id_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    # The account the attempt was about (None: no account answers to what was typed).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # The known-device id of the browser (its signed cookie), if it had one.
    device: Mapped[str | None] = mapped_column(String(32))
    # Refused unchecked while throttled: such attempts count for nothing (they never extend a throttle).
    refused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class LoginSession(Base):
    """One signed-in session (a device). The cookie holds its token; signing out or disabling revokes it."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
