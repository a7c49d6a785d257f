"""Enterprises, departments, posts, people, roles and accounts: the domain logic."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from lms.core.db import db, utcnow
from lms.core.errors import Conflict, DomainError, NotFound
from lms.org.models import (
    DEFAULT_RESPONSIBILITY_ROLES,
    LEARNER,
    PERSON_ACTIVE,
    PERSON_LEFT,
    Department,
    Enterprise,
    LoginSession,
    Person,
    PersonEvent,
    PersonRole,
    Post,
    ResponsibilityRole,
    User,
)
from lms.org.timezone import enterprise_today

UNUSABLE_PASSWORD = "!"  # an account that has no password yet (first passwords are issued separately)


# ---------------------------------------------------------------- enterprises and structure


def create_enterprise(
    code: str,
    name: str,
    *,
    industry: str | None = None,
    high_risk: bool = False,
    password_policy: str = "random",
    time_zone: str | None = None,
) -> Enterprise:
    """Create an enterprise with the default responsibility roles."""
    code = code.strip().upper()
    if not code or not code.replace("-", "").replace("_", "").isalnum() or len(code) > 32:
        raise DomainError("code must be letters, digits, - or _ (at most 32)", field="code")
    if not name.strip():
        raise DomainError("name is required", field="name")
    if password_policy not in ("random", "phone6"):
        raise DomainError("password policy must be random or phone6", field="password_policy")
    if db.session.scalar(select(Enterprise.id).where(Enterprise.code == code)):
        raise Conflict(f"enterprise {code} already exists", field="code")
    from lms.org.industry import is_high_risk

    # High-risk follows the industry (``high_risk`` only adds an industry the regulations do not name).
    ent = Enterprise(
        code=code,
        name=name.strip(),
        industry=industry,
        high_risk=high_risk or is_high_risk(industry),
        password_policy=password_policy,
        time_zone=check_time_zone(time_zone),
    )
    db.session.add(ent)
    db.session.flush()
    for i, role in enumerate(DEFAULT_RESPONSIBILITY_ROLES):
        db.session.add(ResponsibilityRole(enterprise_id=ent.id, name=role, sort_order=i))
    db.session.flush()
    return ent


def check_time_zone(name: str | None) -> str:
    """Return a valid zone name (the platform default for none) or raise DomainError."""
    from lms.core.timeutil import default_zone_name, is_zone

    name = (name or "").strip()
    if not name:
        return default_zone_name()
    if not is_zone(name):
        raise DomainError("unknown time zone (use a name such as Asia/Shanghai)", field="time_zone")
    return name


def enterprise_by_code(code: str) -> Enterprise:
    """Return the enterprise with ``code`` or raise NotFound."""
    ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code.strip().upper()))
    if ent is None:
        raise NotFound(f"no enterprise with code {code}")
    return ent


def split_path(path: str) -> list[str]:
    """Split a department path such as ``一车间/甲班`` (also ``\\``, ``>``, ``／``) into names."""
    for sep in ("\\", ">", "／", "＞", "-"):
        path = path.replace(sep, "/") if sep != "-" else path
    return [p.strip() for p in path.split("/") if p.strip()]


def ensure_department(
    enterprise_id: int, path: str, cache: dict[str, Department] | None = None
) -> Department:
    """Return the department at ``path``, creating it and its parents."""
    names = split_path(path)
    if not names:
        raise DomainError("department is empty", field="department")
    parent: Department | None = None
    for depth in range(len(names)):
        sub = "/".join(names[: depth + 1])
        dept = cache.get(sub) if cache is not None else None
        if dept is None:
            dept = db.session.scalar(
                select(Department).where(Department.enterprise_id == enterprise_id, Department.path == sub)
            )
        if dept is None:
            dept = Department(
                enterprise_id=enterprise_id,
                name=names[depth],
                path=sub,
                depth=depth,
                parent_id=parent.id if parent else None,
            )
            db.session.add(dept)
            db.session.flush()
        if cache is not None:
            cache[sub] = dept
        parent = dept
    assert parent is not None
    return parent


def ensure_post(
    enterprise_id: int, name: str, department: Department | None = None, cache: dict[str, Post] | None = None
) -> Post:
    """Return the post called ``name`` in the enterprise, creating it."""
    name = name.strip()
    post = cache.get(name) if cache is not None else None
    if post is None:
        post = db.session.scalar(select(Post).where(Post.enterprise_id == enterprise_id, Post.name == name))
    if post is None:
        post = Post(
            enterprise_id=enterprise_id, name=name, department_id=department.id if department else None
        )
        db.session.add(post)
        db.session.flush()
    if cache is not None:
        cache[name] = post
    return post


def roles_by_name(enterprise_id: int) -> dict[str, ResponsibilityRole]:
    """Return the enterprise's responsibility roles by name."""
    rows = db.session.scalars(
        select(ResponsibilityRole).where(ResponsibilityRole.enterprise_id == enterprise_id)
    )
    return {r.name: r for r in rows}


def subtree_ids(department: Department) -> list[int]:
    """Return the ids of a department and all below it."""
    q = select(Department.id).where(
        Department.enterprise_id == department.enterprise_id,
        (Department.id == department.id) | Department.path.startswith(department.path + "/"),
    )
    return list(db.session.scalars(q))


def active_people_in(
    enterprise_id: int,
    *,
    department_ids: Iterable[int] = (),
    post_ids: Iterable[int] = (),
    role_ids: Iterable[int] = (),
    person_ids: Iterable[int] = (),
) -> list[Person]:
    """Active people of the enterprise in any chosen department (with its subtree), post or role, or named by id
    (what an assign page offers: a course, an exam, a notice); ordered by 工号."""
    dept_ids: set[int] = set()
    for d_id in department_ids:
        dept = db.session.get(Department, int(d_id))
        if dept is not None and dept.enterprise_id == enterprise_id:
            dept_ids.update(subtree_ids(dept))
    conds = []
    if dept_ids:
        conds.append(Person.department_id.in_(dept_ids))
    if post_ids:
        conds.append(Person.post_id.in_([int(x) for x in post_ids]))
    if role_ids:
        conds.append(
            Person.id.in_(
                select(PersonRole.person_id).where(PersonRole.role_id.in_([int(x) for x in role_ids]))
            )
        )
    if person_ids:
        conds.append(Person.id.in_([int(x) for x in person_ids]))
    if not conds:
        return []
    return list(
        db.session.scalars(
            select(Person)
            .where(Person.enterprise_id == enterprise_id, Person.status == PERSON_ACTIVE, or_(*conds))
            .order_by(Person.employee_no, Person.id)
        )
    )


# ---------------------------------------------------------------- people


def set_roles(person: Person, roles: Iterable[ResponsibilityRole], *, on: dt.date | None = None) -> bool:
    """Give ``person`` exactly ``roles``, recording what was gained and lost; return whether anything changed."""
    on = on or enterprise_today(person.enterprise_id)
    wanted = {r.id: r for r in roles}
    current = {
        pr.role_id: pr
        for pr in db.session.scalars(select(PersonRole).where(PersonRole.person_id == person.id))
    }
    changed = False
    for role_id, pr in current.items():
        if role_id not in wanted:
            db.session.delete(pr)
            db.session.add(
                PersonEvent(person_id=person.id, kind="role_removed", on=on, detail={"role_id": role_id})
            )
            changed = True
    for role_id in wanted:
        if role_id not in current:
            db.session.add(PersonRole(person_id=person.id, role_id=role_id, since=on))
            db.session.add(
                PersonEvent(person_id=person.id, kind="role_added", on=on, detail={"role_id": role_id})
            )
            changed = True
    if changed:
        db.session.flush()
        db.session.expire(person, ["roles"])
    return changed


def move_person(
    person: Person, *, department: Department | None, post: Post | None, on: dt.date | None = None
) -> bool:
    """Change a person's department and post, keeping history; return whether anything changed."""
    on = on or enterprise_today(person.enterprise_id)
    changed = False
    new_dept = department.id if department else None
    new_post = post.id if post else None
    if person.department_id != new_dept:
        db.session.add(
            PersonEvent(
                person_id=person.id,
                kind="department",
                on=on,
                detail={"from": person.department_id, "to": new_dept},
            )
        )
        person.department_id = new_dept
        changed = True
    if person.post_id != new_post:
        db.session.add(
            PersonEvent(
                person_id=person.id, kind="post", on=on, detail={"from": person.post_id, "to": new_post}
            )
        )
        person.post_id = new_post
        changed = True
    return changed


def set_status(person: Person, status: str, *, on: dt.date | None = None) -> bool:
    """Mark a person active or left; leaving ends their sessions."""
    on = on or enterprise_today(person.enterprise_id)
    if status == person.status:
        return False
    if status == PERSON_LEFT:
        person.status, person.left_on = PERSON_LEFT, on
        db.session.add(PersonEvent(person_id=person.id, kind="left", on=on))
        user = db.session.scalar(select(User).where(User.person_id == person.id))
        if user is not None:
            user.is_enabled = False
            revoke_sessions(user)
    elif status == PERSON_ACTIVE:
        person.status, person.left_on = PERSON_ACTIVE, None
        db.session.add(PersonEvent(person_id=person.id, kind="returned", on=on))
        user = db.session.scalar(select(User).where(User.person_id == person.id))
        if user is not None:
            user.is_enabled = True
    else:
        raise DomainError(f"unknown status {status!r}", field="status")
    return True


def set_leave(person: Person, away_from: dt.date | None, returned_on: dt.date | None) -> bool:
    """Set the dates a person left the post (离岗) and came back (返岗), with their history; True if changed.

    Still employed (unlike ``set_status``): while away the person is subject to no training requirement; back
    after more than a year, workshop and team education are due again (lms.training.status).
    """
    if returned_on is not None and away_from is None:
        raise DomainError("a return date needs the leave date before it", field="returned_on")
    if returned_on is not None and away_from is not None and returned_on < away_from:
        raise DomainError("the return date is before the leave date", field="returned_on")
    if (person.away_from, person.returned_on) == (away_from, returned_on):
        return False
    if away_from is not None and away_from != person.away_from:
        db.session.add(PersonEvent(person_id=person.id, kind="leave", on=away_from))
    if returned_on is not None and returned_on != person.returned_on:
        db.session.add(
            PersonEvent(
                person_id=person.id,
                kind="back",
                on=returned_on,
                detail={"away_from": away_from.isoformat() if away_from else None},
            )
        )
    person.away_from, person.returned_on = away_from, returned_on
    return True


def person_username(enterprise: Enterprise, employee_no: str) -> str:
    """Return the user name given to a person's account (``demo-ga1001``)."""
    return f"{enterprise.code}-{employee_no}".lower()


def ensure_account(
    person: Person, enterprise: Enterprise, *, app_role: str = LEARNER, password_hash: str = UNUSABLE_PASSWORD
) -> User:
    """Return the person's account, creating one without a usable password."""
    user = db.session.scalar(select(User).where(User.person_id == person.id))
    if user is None:
        user = User(
            username=person_username(enterprise, person.employee_no),
            password_hash=password_hash,
            display_name=person.name,
            app_role=app_role,
            enterprise_id=enterprise.id,
            person_id=person.id,
            must_change_password=True,
        )
        db.session.add(user)
    elif user.display_name != person.name:
        user.display_name = person.name
    return user


# ---------------------------------------------------------------- accounts and sign-in


def hash_password(password: str) -> str:
    """Hash with scrypt (werkzeug)."""
    return generate_password_hash(password, method="scrypt")


def validate_new_password(password: str) -> None:
    """Refuse weak passwords: at least 8 characters with letters and digits."""
    if len(password) < 8:
        raise DomainError("The password must have at least 8 characters.", field="password")
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        raise DomainError("The password must contain letters and digits.", field="password")


def set_password(user: User, password: str, *, must_change: bool = False, validate: bool = True) -> None:
    """Set a new password; other sessions of the user end."""
    if validate:
        validate_new_password(password)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change


def change_own_password(user: User, current: str, new: str, *, keep_token: str | None = None) -> None:
    """Change one's own password after checking the current one; other devices are signed out."""
    if user.password_hash == UNUSABLE_PASSWORD or not check_password_hash(user.password_hash, current):
        raise DomainError("The current password is wrong.", field="current")
    if current == new:
        raise DomainError("The new password must differ from the current one.", field="password")
    set_password(user, new)
    revoke_sessions(user, except_token=keep_token)


def generate_password(length: int = 10) -> str:
    """Return a random password easy to read aloud (no 0/O/1/l)."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "0Oo1lI")
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


@dataclass
class IssuedPassword:
    person: Person
    username: str
    password: str


def issue_first_passwords(enterprise: Enterprise, people: Iterable[Person]) -> list[IssuedPassword]:
    """Give accounts that have no password yet their first one, by the enterprise's policy.

    Random passwords are returned once (for a printable list) and never stored in clear.
    """
    issued: list[IssuedPassword] = []
    for person in people:
        user = ensure_account(person, enterprise)
        if user.password_hash != UNUSABLE_PASSWORD:
            continue
        if enterprise.password_policy == "phone6" and person.phone and len(person.phone) >= 6:
            pw = person.phone[-6:]
        else:
            pw = generate_password()
        user.password_hash = hash_password(pw)
        user.must_change_password = True
        issued.append(IssuedPassword(person, user.username, pw))
    db.session.flush()
    return issued


def reset_password(user: User) -> str:
    """Reset by a manager: a new random password that must be changed at next sign-in; sessions end."""
    pw = generate_password()
    set_password(user, pw, must_change=True, validate=False)
    revoke_sessions(user)
    return pw


def start_session(user: User, *, address: str | None, user_agent: str | None) -> LoginSession:
    """Open a new login session (a fresh token: the session id rotates at every sign-in)."""
    ls = LoginSession(
        token=secrets.token_urlsafe(32),
        user_id=user.id,
        address=(address or "")[:64],
        user_agent=(user_agent or "")[:200],
    )
    db.session.add(ls)
    db.session.flush()
    return ls


def end_session(token: str) -> None:
    """Revoke one login session."""
    db.session.execute(update(LoginSession).where(LoginSession.token == token).values(revoked_at=utcnow()))


def revoke_sessions(user: User, *, except_token: str | None = None) -> None:
    """Revoke every live session of ``user`` (disable, reset, departure)."""
    q = update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
    if except_token:
        q = q.where(LoginSession.token != except_token)
    db.session.execute(q.values(revoked_at=utcnow()))


@functools.cache
def _session_user_stmt() -> Any:
    """Built once: every signed-in request runs it (a bound token, one cached compile)."""
    return (
        select(User, LoginSession)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token == bindparam("token"),
            LoginSession.revoked_at.is_(None),
            User.is_enabled.is_(True),
        )
    )


def load_session_user(token: str) -> tuple[User, LoginSession] | None:
    """Return the user of a live login session (one query), or None."""
    row = db.session.execute(_session_user_stmt(), {"token": token}).first()
    return (row[0], row[1]) if row else None


def set_enabled(user: User, enabled: bool) -> None:
    """Enable or disable an account; disabling ends its sessions."""
    user.is_enabled = enabled
    if not enabled:
        revoke_sessions(user)


def set_audience_choices(form: object, enterprise_id: int) -> None:
    """Fill a form's ``departments``, ``posts`` and ``roles`` multi-selects with the enterprise's own.

    Courses (enrol by …), classroom sessions (target audience) and notices (addressed to …) share this.
    """
    form.departments.choices = [  # type: ignore[attr-defined]
        (d.id, d.path)
        for d in db.session.scalars(
            select(Department).where(Department.enterprise_id == enterprise_id).order_by(Department.path)
        )
    ]
    form.posts.choices = [  # type: ignore[attr-defined]
        (p.id, p.name)
        for p in db.session.scalars(
            select(Post).where(Post.enterprise_id == enterprise_id).order_by(Post.name)
        )
    ]
    form.roles.choices = [  # type: ignore[attr-defined]
        (r.id, r.name)
        for r in db.session.scalars(
            select(ResponsibilityRole)
            .where(ResponsibilityRole.enterprise_id == enterprise_id)
            .order_by(ResponsibilityRole.sort_order)
        )
    ]
