"""Sign-in that no one can take away: what a careless neighbour enterprise and a password guesser did.

Each test does what the attacker did on the landed main and checks that the person still signs in, while guessing
stays slow. Time passing is simulated by moving the stored timestamps back (never by patching our code).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from lms.core.db import db
from lms.org.models import LoginAttempt, LoginSession, User
from tests.conftest import TEST_PASSWORD, login

WRONG = "not-the-password-1"


def _client(app, address: str = "127.0.0.1"):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


def _sign_in(client, login_name: str, password: str = TEST_PASSWORD, **extra):
    return client.post("/login", data={"login": login_name, "password": password, **extra})


def _signed_in_as(client) -> str | None:
    """Return the display name of the account this client's session is signed in as, or None."""
    with client.session_transaction() as s:
        token = s.get("_user_id")
    if not token:
        return None
    ls = db.session.scalar(
        select(LoginSession).where(LoginSession.token == token, LoginSession.revoked_at.is_(None))
    )
    return db.session.get(User, ls.user_id).display_name if ls else None


def _let_time_pass(seconds: float) -> None:
    """Move every stored sign-in time back by ``seconds`` (as if that much time had passed)."""
    delta = dt.timedelta(seconds=seconds)
    for a in db.session.scalars(select(LoginAttempt)):
        a.at = a.at - delta
    for u in db.session.scalars(select(User).where(User.last_failed_sign_in_at.is_not(None))):
        u.last_failed_sign_in_at = u.last_failed_sign_in_at - delta
        if u.sign_in_locked_until is not None:
            u.sign_in_locked_until = u.sign_in_locked_until - delta
    db.session.flush()


def _state(user) -> tuple[int, dt.datetime | None, dt.datetime | None]:
    db.session.refresh(user)
    return user.failed_sign_ins, user.last_failed_sign_in_at, user.sign_in_locked_until


# ---------------------------------------------------------------- identifiers unique only within an enterprise


def test_neighbour_enterprise_copying_employee_no_and_phone_takes_nothing_away(
    app, make_enterprise, make_person, client
):
    demo, other = make_enterprise(code="DEMOA"), make_enterprise(code="NEIGH")
    victim = make_person(demo, name="王小明", employee_no="GA1010", phone="13800001010")
    db.session.commit()
    # Before: the learner signs in with 工号 and with phone.
    learner = _client(app)
    for ident in ("GA1010", "13800001010"):
        assert _sign_in(learner, ident).status_code == 302
        assert "王小明" in _signed_in_as(learner)
        learner.post("/logout")

    # The neighbour's manager creates a person with the same 工号 and phone, and gives them a password.
    manager = make_person(other, app_role="manager")
    login(client, manager.user)
    r = client.post(
        "/org/people/new",
        data={
            "employee_no": "GA1010",
            "name": "冒名者",
            "phone": "13800001010",
            "department": "一车间",
            "post": "操作工",
            "app_role": "learner",
            "status": "active",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    copy_id = int(r.headers["Location"].rstrip("/").split("/")[-1])
    page = client.post(f"/org/people/{copy_id}/password").get_data(as_text=True)
    copy_password = re.findall(r"<td>([^<]{8,})</td></tr>", page)[-1]

    # The real learner still signs in exactly as before, with either identifier.
    for ident in ("GA1010", "13800001010"):
        r = _sign_in(learner, ident)
        assert r.status_code == 302, r.get_data(as_text=True)[:800]
        assert "王小明" in _signed_in_as(learner)
        learner.post("/logout")
    # The copy signs in only as itself, never as the learner of DEMOA.
    intruder = _client(app, "10.9.9.9")
    assert _sign_in(intruder, "GA1010", copy_password).status_code == 302
    page = _signed_in_as(intruder)
    assert "冒名者" in page and "王小明" not in page
    assert victim.user.failed_sign_ins == 0


def test_identifier_in_two_enterprises_with_the_same_password_asks_which(app, make_enterprise, make_person):
    a, b = make_enterprise(code="ENTA", name="甲化工"), make_enterprise(code="ENTB", name="乙钢铁")
    pa = make_person(a, name="甲员工", employee_no="7001")
    make_person(b, name="乙员工", employee_no="7001")
    db.session.commit()
    c = _client(app)
    r = _sign_in(c, "7001")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and _signed_in_as(c) is None  # the identifier alone signs no one in
    assert "甲化工" in page and "乙钢铁" in page and 'name="enterprise"' in page
    r = _sign_in(c, "7001", enterprise="enta")
    assert r.status_code == 302
    assert "甲员工" in _signed_in_as(c)
    c.post("/logout")
    # A code names the enterprise: the other one's account is not tried.
    assert _sign_in(c, "7001", enterprise="ENTB").status_code == 302
    assert "乙员工" in _signed_in_as(c)
    assert pa.user.failed_sign_ins == 0


def test_a_flood_of_copies_never_pushes_out_the_first_owner(app, make_enterprise, make_person):
    from lms.org.services import hash_password

    a, b = make_enterprise(code="FIRST"), make_enterprise(code="FLOOD")
    owner = make_person(a, name="原号主", phone="13700007000")
    other_hash = hash_password("Copy-pass-1")
    copies = [make_person(b, name=f"复制{i}", phone="13700007000") for i in range(7)]
    for c in copies:
        c.user.password_hash = other_hash
    db.session.commit()
    c = _client(app)
    assert _sign_in(c, "13700007000").status_code == 302
    assert _signed_in_as(c) == "原号主"
    c.post("/logout")
    # The copies' own sign-ins by that number never count against the owner's account.
    copy_client = _client(app, "10.7.7.7")
    r = _sign_in(copy_client, "13700007000", "Copy-pass-1")
    assert r.status_code == 200 and _signed_in_as(copy_client) is None
    assert "用户名或工号" in r.get_data(as_text=True)  # one enterprise's accounts share it: no choice helps
    assert _state(owner.user) == (0, None, None)


def test_unknown_identifier_and_wrong_code_reveal_nothing(app, make_enterprise, make_person):
    a = make_enterprise(code="ENTC")
    make_person(a, employee_no="7002")
    db.session.commit()
    c = _client(app)
    for data in ({"login": "nobody-here"}, {"login": "7002", "enterprise": "NOPE"}):
        r = _sign_in(c, data.pop("login"), **data)
        assert r.status_code == 200 and ("用户名或密码错误" in r.get_data(as_text=True))


def test_throttle_answers_do_not_tell_which_accounts_exist(app, enterprise, make_person):
    p = make_person(enterprise)
    db.session.commit()
    answers = []
    for ident in (p.user.username, "no-such-person"):
        c = _client(app, "10.11.0.1" if ident == "no-such-person" else "10.11.0.2")
        for _ in range(3):
            assert _sign_in(c, ident, WRONG).status_code == 200
        _let_time_pass(-5)  # keep the waits running however slow this machine is
        r = _sign_in(c, ident, WRONG)
        answers.append((r.status_code, r.get_data(as_text=True)))
    assert answers[0][0] == answers[1][0] == 429
    assert all("秒后重试，或请安全管理员解除锁定" in page for _status, page in answers)


# ---------------------------------------------------------------- one counter per account


def test_failures_count_once_per_account_whatever_identifier(app, enterprise, make_person):
    p = make_person(enterprise, employee_no="GA2020", phone="13900002020")
    db.session.commit()
    c = _client(app)
    checked = 0
    idents = [p.user.username, "GA2020", "13900002020"]
    for i in range(30):
        r = _sign_in(c, idents[i % 3], WRONG)
        if r.status_code == 429:
            break
        checked += 1
        assert _state(p.user)[0] == checked
        _let_time_pass(61)  # past any growing delay, but not past the lock
    # Ten guesses in all, not five per identifier (15 per window before).
    assert checked == app.config["LOGIN_MAX_FAILURES_ACCOUNT"] == 10
    failures, _last, locked = _state(p.user)
    assert failures == 10 and locked is not None
    for ident in idents:
        r = _sign_in(c, ident)  # even the right password waits out the short lock
        assert r.status_code == 429


def test_growing_delay_then_short_lock(app, enterprise, make_person):
    from lms.org.signin import Policy, account_throttle

    policy = Policy.from_config(app.config)
    p = make_person(enterprise)
    db.session.commit()
    c = _client(app)
    for _ in range(3):  # the first failures are free
        assert _sign_in(c, p.user.username, WRONG).status_code == 200
    failures, last, _locked = _state(p.user)
    assert failures == 3 and account_throttle(p.user, policy, last).wait == dt.timedelta(seconds=2)
    _let_time_pass(-5)  # keep the wait running however slow this machine is
    r = _sign_in(c, p.user.username)  # even the right password waits
    assert r.status_code == 429 and "秒后重试" in r.get_data(as_text=True)
    _let_time_pass(5 + 2.5)
    assert _sign_in(c, p.user.username, WRONG).status_code == 200
    failures, last, _locked = _state(p.user)
    assert failures == 4 and account_throttle(p.user, policy, last).wait == dt.timedelta(seconds=4)
    _let_time_pass(-5)
    assert _sign_in(c, p.user.username).status_code == 429
    _let_time_pass(5 + 4.5)
    assert _sign_in(c, p.user.username).status_code == 302  # the right password after the wait
    assert _state(p.user) == (0, None, None)
    # The delays grow 2, 4, 8 … seconds up to the cap.
    from lms.org.signin import delay_after

    assert [delay_after(n, policy).total_seconds() for n in range(2, 10)] == [0, 2, 4, 8, 16, 32, 60, 60]


def test_refused_attempts_do_not_extend_the_throttle(app, enterprise, make_person):
    p = make_person(enterprise)
    db.session.commit()
    attacker = _client(app, "10.0.0.66")
    for _ in range(10):
        assert _sign_in(attacker, p.user.username, WRONG).status_code == 200
        _let_time_pass(61)
    _let_time_pass(-61)  # undo the last step: the lock has just begun
    before = _state(p.user)
    assert before[0] == 10 and before[2] is not None
    for _ in range(25):  # hammering during the lock is refused unchecked …
        assert _sign_in(attacker, p.user.username, WRONG).status_code == 429
    assert _state(p.user) == before  # … and changes nothing
    refused = db.session.scalars(
        select(LoginAttempt).where(LoginAttempt.user_id == p.user.id, LoginAttempt.refused.is_(True))
    ).all()
    assert len(refused) == 25
    # When the lock ends the person signs in from a new device, with no extension from the 25 refusals.
    _let_time_pass(app.config["LOGIN_LOCK_MINUTES"] * 60 + 1)
    assert _sign_in(_client(app, "10.0.0.7"), p.user.username).status_code == 302


def test_parallel_guesses_get_no_more_than_the_throttle(app, enterprise, make_person):
    """Guesses sent at the same moment all read the same row: only one of them is checked."""
    from lms.org.signin import Policy, claim_attempt, release_claim

    p = make_person(enterprise)
    db.session.commit()
    policy = Policy.from_config(app.config)
    user = db.session.get(User, p.user.id)
    first = claim_attempt(user, policy)  # both requests read failed_sign_ins == 0 …
    second = claim_attempt(user, policy)
    assert first is not None and second is None  # … the second finds the row moved on and is refused
    db.session.expire(user)
    assert user.failed_sign_ins == 1
    release_claim(first)  # a correct password gives the claim back
    db.session.expire(user)
    assert _state(user) == (0, None, None)
    # Through the form, one wrong password still counts exactly once.
    c = _client(app, "10.5.5.5")
    assert _sign_in(c, p.user.username, WRONG).status_code == 200
    assert _state(p.user)[0] == 1


def test_guesses_racing_each_other_get_only_the_free_failures(app, enterprise, make_person):
    """Claims made back to back (as racing attempts are serialised by the compare-and-set): three free checks,
    then the delay refuses the rest."""
    from lms.org.signin import Claim, Policy, SignInRefused, _claim_or_wait

    p = make_person(enterprise)
    db.session.commit()
    policy = Policy.from_config(app.config)
    user = db.session.get(User, p.user.id)
    outcomes = [
        _claim_or_wait(user, policy, dt.datetime.now(dt.UTC).replace(tzinfo=None), None) for _ in range(6)
    ]
    assert [isinstance(o, Claim) for o in outcomes] == [True, True, True, False, False, False]
    assert all(isinstance(o, SignInRefused) for o in outcomes[3:])
    assert _state(user)[0] == 3


# ---------------------------------------------------------------- one address, many people (a factory's NAT)


def test_address_flood_does_not_block_a_known_device(app, enterprise, make_person):
    victim = make_person(enterprise, name="赵师傅")
    db.session.commit()
    phone = _client(app, "192.168.1.1")
    assert _sign_in(phone, victim.user.username).status_code == 302  # the device signs in once
    phone.post("/logout")

    attacker = _client(app, "192.168.1.1")  # same NAT address, no cookie
    for i in range(20):
        assert _sign_in(attacker, f"guess-{i}", WRONG).status_code == 200
    # The address is throttled for strangers, correct password included …
    assert _sign_in(_client(app, "192.168.1.1"), victim.user.username).status_code == 429
    # … but not for the device where the victim signed in before.
    r = _sign_in(phone, victim.user.username)
    assert r.status_code == 302
    assert "赵师傅" in _signed_in_as(phone)
    phone.post("/logout")

    # Attempts refused while the address is throttled do not extend it.
    for i in range(30):
        assert _sign_in(attacker, f"more-{i}", WRONG).status_code == 429
    _let_time_pass(app.config["LOGIN_WINDOW_MINUTES"] * 60 + 1)
    assert _sign_in(_client(app, "192.168.1.1"), victim.user.username).status_code == 302


def test_forged_or_foreign_device_cookie_passes_nothing(app, enterprise, make_person):
    victim, other = make_person(enterprise), make_person(enterprise)
    db.session.commit()
    own = _client(app, "172.16.0.1")
    assert _sign_in(own, other.user.username).status_code == 302  # a device known for `other` only
    attacker = _client(app, "172.16.0.1")
    for i in range(20):
        _sign_in(attacker, f"x-{i}", WRONG)
    own.post("/logout")
    assert _sign_in(own, victim.user.username).status_code == 429  # known for someone else: no pass
    forged = _client(app, "172.16.0.1")
    forged.set_cookie("lms_device", f'{{"d": "abc", "u": [{victim.user.id}]}}', domain="lms.test")
    assert _sign_in(forged, victim.user.username).status_code == 429
    from itsdangerous import URLSafeSerializer

    other_key = URLSafeSerializer("not-the-secret", salt="lms.known-device").dumps(
        {"d": "abc", "u": [victim.user.id]}
    )
    forged.set_cookie("lms_device", other_key, domain="lms.test")
    assert _sign_in(forged, victim.user.username).status_code == 429


def test_stranger_cannot_lock_a_person_out_of_their_device(app, enterprise, make_person):
    victim = make_person(enterprise)
    db.session.commit()
    phone = _client(app, "10.1.1.1")
    assert _sign_in(phone, victim.user.username).status_code == 302
    phone.post("/logout")
    attacker = _client(app, "10.6.6.6")
    for _ in range(10):
        _sign_in(attacker, victim.user.username, WRONG)
        _let_time_pass(61)
    _let_time_pass(-61)
    assert _state(victim.user)[2] is not None  # locked for strangers
    assert _sign_in(_client(app, "10.2.2.2"), victim.user.username).status_code == 429
    assert _sign_in(phone, victim.user.username).status_code == 302  # the known device is not locked out
    assert _state(victim.user) == (0, None, None)


def test_a_known_device_that_keeps_failing_loses_its_pass(app, enterprise, make_person):
    victim = make_person(enterprise)
    db.session.commit()
    phone = _client(app, "10.3.3.3")
    assert _sign_in(phone, victim.user.username).status_code == 302
    phone.post("/logout")
    for _ in range(10):
        assert _sign_in(phone, victim.user.username, WRONG).status_code == 200
    assert _sign_in(phone, victim.user.username).status_code == 429


# ---------------------------------------------------------------- managers see and clear locks


@pytest.fixture
def locked(app, enterprise, make_person):
    victim = make_person(enterprise, name="钱锁定")
    db.session.commit()
    attacker = _client(app, "10.8.8.8")
    for _ in range(10):
        _sign_in(attacker, victim.user.username, WRONG)
        _let_time_pass(61)
    _let_time_pass(-61)
    assert _state(victim.user)[2] is not None
    return victim


def test_manager_sees_and_clears_a_lock(app, client, enterprise, make_person, locked, monkeypatch):
    manager = make_person(enterprise, app_role="manager")
    login(client, manager.user)
    page = client.get("/org/sign-in-locks").get_data(as_text=True)
    assert "钱锁定" in page and "10" in page
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"/org/sign-in-locks/{locked.user.id}/clear").status_code == 400  # no CSRF token
    assert _state(locked.user)[2] is not None
    from flask import g

    g.pop("csrf_token", None)  # the test app keeps one app context (and g) across requests
    page = client.get("/org/sign-in-locks").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post(f"/org/sign-in-locks/{locked.user.id}/clear", data={"csrf_token": token})
    assert r.status_code == 302
    assert _state(locked.user) == (0, None, None)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    assert _sign_in(_client(app, "10.4.4.4"), locked.user.username).status_code == 302


def test_lock_page_is_for_managers_of_the_enterprise_only(
    app, client, make_enterprise, make_person, make_user, locked
):
    other = make_enterprise()
    foreign_manager = make_person(other, app_role="manager")
    login(client, foreign_manager.user)
    assert "钱锁定" not in client.get("/org/sign-in-locks").get_data(as_text=True)
    assert client.post(f"/org/sign-in-locks/{locked.user.id}/clear").status_code == 404
    assert _state(locked.user)[2] is not None
    client.post("/logout")
    # A manager of the admin's enterprise neither sees nor clears a platform admin's lock.
    admin = make_user("admin", locked.enterprise)
    attacker = _client(app, "10.8.8.9")
    for _ in range(10):
        _sign_in(attacker, admin.username, WRONG)
        _let_time_pass(61)
    _let_time_pass(-61)
    own_manager = make_person(locked.enterprise, app_role="manager")
    login(client, own_manager.user)
    page = client.get("/org/sign-in-locks").get_data(as_text=True)
    assert "钱锁定" in page and admin.username not in page
    assert client.post(f"/org/sign-in-locks/{admin.id}/clear").status_code == 404
    assert _state(admin)[2] is not None
    client.post("/logout")
    learner = make_person(locked.enterprise)
    login(client, learner.user)
    assert client.get("/org/sign-in-locks").status_code == 403
    assert client.post(f"/org/sign-in-locks/{locked.user.id}/clear").status_code == 403
    assert _state(locked.user)[2] is not None


def test_attempts_refused_while_an_address_waits_do_not_extend_its_wait(app, enterprise, make_person):
    """The refused attempts come later than the failures that throttled the address: once those failures leave
    the window the address is free, however many attempts were refused in the meantime."""
    victim = make_person(enterprise, name="孙师傅")
    db.session.commit()
    window = app.config["LOGIN_WINDOW_MINUTES"] * 60
    attacker = _client(app, "192.168.7.7")
    for i in range(app.config["LOGIN_MAX_FAILURES_ADDRESS"]):
        assert _sign_in(attacker, f"guess-{i}", WRONG).status_code == 200
    assert _sign_in(_client(app, "192.168.7.7"), victim.user.username).status_code == 429
    _let_time_pass(window - 60)  # a minute before the failures leave the window …
    for i in range(30):  # … the attacker keeps hammering: each attempt is refused unchecked
        assert _sign_in(attacker, f"more-{i}", WRONG).status_code == 429
    assert _sign_in(_client(app, "192.168.7.7"), victim.user.username).status_code == 429
    _let_time_pass(61)  # the failures have left the window; the refusals are a minute old
    r = _sign_in(_client(app, "192.168.7.7"), victim.user.username)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
