"""The line of sign-ins (lms.core.slots.take_turn, lms.org.signin.line_up; issue 20, the login storm).

At full scale, 5,000 people told "try again in 5 seconds" sent 97,633 refused sign-ins through the whole stack
(bench/README, "Login storm"): the retries, not the password checks, took the cores. Now every sign-in takes a
turn in one host-wide line, one check's time after the one before; a turn seconds away is refused before the
database is read, told when to come back, and kept in the session, so coming back the person goes ahead of those
who arrived later. These tests are written as the attacker and the crowd would test it: a script that returns
early gains nothing, a turn cannot be pushed without bound, and a rush sends few refusals per person."""

from __future__ import annotations

import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from lms.core.config import instance_dir
from lms.core.db import db
from lms.core.slots import (
    EARLY,
    GAP_POWER,
    MAX_GAP,
    OUTLIER,
    STALL_SECONDS,
    Clock,
    Turn,
    clock,
    hold,
    interval,
    line_done,
    line_up,
    paced,
    pause,
)
from lms.org import signin
from lms.org.auth import LINE_HEADER, LINE_TICKET, LINE_TURN_HEADER, LINE_WAIT_HEADER
from lms.org.models import LoginAttempt, User
from tests.conftest import TEST_PASSWORD
from tests.statements import TRANSACTION, recorded_statements

LINE = "signin"


def _state() -> tuple[int, int, float, float, float, float]:
    """The line's file: the next number, the last done + 1, when, a sign-in's typical time, its check's, the
    check's CPU."""
    issued, done, done_at, work, held, cpu = (
        (instance_dir() / "locks" / f"{LINE}.line").read_text().split()[:6]
    )
    return int(issued), int(done), float(done_at), float(work), float(held), float(cpu)


def _set_state(issued: int, done: int, interval_: float) -> None:
    """Make the line as a crowd that came just before would leave it: one sign-in done every ``interval_`` s (a
    window of 2, one check slot)."""
    path = instance_dir() / "locks" / f"{LINE}.line"
    path.parent.mkdir(parents=True, exist_ok=True)
    half = interval_ / 2  # checks of half the interval's time: the window's sign-ins set the pace
    path.write_text(f"{issued} {done} {time.time():.6f} {2 * interval_:.6f} {half:.6f} {half:.6f}")


@pytest.fixture()
def fresh_line(app):
    path = instance_dir() / "locks" / f"{LINE}.line"
    path.unlink(missing_ok=True)
    app.config["LOGIN_HASH_SLOTS"] = 1  # a window of 2 (LINE_WINDOW per slot) whatever the machine's cores
    yield
    app.config.pop("LOGIN_HASH_SLOTS")
    path.unlink(missing_ok=True)


def test_numbers_are_let_in_a_window_at_a_time_and_told_when_to_come_back(tmp_path):
    t = 1_000_000.0

    def up(number: int | None = None, now: float = t, longest: float = 100) -> Turn | None:
        return line_up(
            "x", number=number, window=2, slots=1, default=0.2, longest=longest, folder=tmp_path, now=now
        )

    def done(number: int, work: float, held: float) -> None:
        line_done("x", number, work=work, held=held, cpu=held, folder=tmp_path, now=t)  # an idle host

    def pace() -> float:
        return interval("x", window=2, slots=1, folder=tmp_path, default=0.2)

    assert up() == Turn(0, 0.0)  # an empty line: in at once
    assert up() == Turn(1, 0.0)  # the window is 2
    assert up() == Turn(2, pytest.approx(0.2 * EARLY))  # one before it beyond the window, told a bit early
    assert up() == Turn(3, pytest.approx(0.4 * EARLY))
    assert up(2) == Turn(2, pytest.approx(0.2 * EARLY))  # coming back early: the same number, the same wait
    done(0, work=0.5, held=0.3)  # slower than the default: each typical time moves by a fifth
    assert pace() == pytest.approx(max((0.4 + 0.02) / 2, 0.2 + 0.02))
    assert up(2) == Turn(2, 0.0)  # one done: it is in
    assert up(3) == Turn(3, pytest.approx(0.22 * EARLY))
    done(1, work=0.42, held=50.0)  # a pause counts as at most OUTLIER typical times
    assert pace() == pytest.approx(0.22 + 0.2 * (0.22 * OUTLIER - 0.22))
    assert up(3) == Turn(3, 0.0)
    e, f = up(), up()
    assert (e.number, f.number) == (4, 5) and f.wait == pytest.approx(2 * pace() * EARLY)
    done(2, work=0.4, held=0.2)
    done(3, work=0.4, held=0.2)
    # 4 never comes back; 5 does, and once it is done 4's absence costs those after it nothing.
    assert up(5) == Turn(5, 0.0)
    done(5, work=0.4, held=0.2)
    assert up() == Turn(6, 0.0)
    assert up(4) == Turn(4, 0.0)  # a late comer is let in (its number passed), not sent to the end
    assert up(99) == Turn(7, 0.0)  # a number this line never gave (it started again): a new one
    # A wait longer than ``longest`` gives no number, and the line does not grow; it says when a newcomer's wait
    # would fit within ``longest`` at the pace now.
    for _ in range(20):
        up()
    issued = up().number + 1
    full = up(longest=1.0)
    beyond = (issued - 6 - 2 + 1) * pace()  # 6 done (0-5), a window of 2
    assert full == Turn(-1, pytest.approx((beyond - 1.0) * EARLY), full=True)
    assert up().number == issued


def test_the_window_or_the_slots_set_the_pace_whichever_is_slower(tmp_path):
    """Two sign-ins run side by side (the window) but only one checks at a time (the slot): when the check is
    most of a sign-in the slot sets the pace, else the window does. On a busy host, where a check that needs
    0.45 s of CPU takes 0.9 s (it runs at idle priority and waits for CPU nobody else wants: r = 2), a pause
    after each leaves the checks 1/r**GAP_POWER of a core (at most MAX_GAP). With a share of 0.5 the checks' CPU
    is at most half a core per slot, however idle the host."""
    cases = (
        ("a", 1.0, 0.9, 0.9, 1.0, 0.9),
        ("b", 1.0, 0.1, 0.1, 1.0, 0.5),
        ("busy", 1.0, 0.9, 0.45, 1.0, 0.45 * 2**GAP_POWER),  # 0.45 s of CPU every 3.6 s: an 8th of a core
        ("very busy", 1.0, 3.0, 0.1, 1.0, 3.0 + MAX_GAP),
        ("half", 1.0, 0.9, 0.9, 0.5, 1.8),
        ("half, cheap checks", 1.0, 0.1, 0.1, 0.5, 0.5),
    )
    for name, work, held, cpu, share, pace in cases:
        line_up(
            name, number=None, window=2, slots=1, share=share, default=work / 2, longest=9, folder=tmp_path
        )
        for _ in range(60):  # long enough for the typical times to settle
            line_done(name, 0, work=work, held=held, cpu=cpu, folder=tmp_path)
        got = interval(name, window=2, slots=1, share=share, folder=tmp_path, default=0.0)
        assert got == pytest.approx(pace, rel=0.02), name


def test_a_check_times_its_cpu_and_its_wait_apart(tmp_path):
    """hold() tells its thread how long it waited, held, and of that ran on its CPU (a sleep holds, not runs)."""
    clock()
    with hold("c", slots=1, wait=1, folder=tmp_path):
        time.sleep(0.2)
    took = clock()
    assert took.held >= 0.2 and took.cpu < 0.05 and took.waited < 0.05
    with hold("c", slots=1, wait=1, folder=tmp_path):
        end = time.thread_time() + 0.1
        while time.thread_time() < end:
            pass
    took = clock()
    assert took.cpu >= 0.09 and took.held >= took.cpu - 0.005  # two clocks: a few microseconds apart
    assert clock() == Clock(0.0, 0.0, 0.0)  # read once


def test_on_a_busy_host_the_next_check_pauses_and_the_pause_is_not_its_time(tmp_path):
    """After a check that took twice its CPU (the host busy with others), the next one waits before it starts:
    the checks get an 8th of a core, not the half the kernel would give them (lms.core.slots._gap). The time to
    wait is set when a check ends, before its slot is let go, so the next holder always sees it (set later, after
    the sign-in was recorded, the next holder could start before it: seen at full scale). The pause is time waited
    for the slot, not held: it does not make the next check look slower still. On an idle host (wall = CPU)
    nothing pauses."""

    def job(seconds: float) -> tuple[float, Clock]:
        clock()
        with hold("p", slots=1, wait=1, folder=tmp_path), paced("p", folder=tmp_path):
            started = time.monotonic()
            time.sleep(seconds)
        return started, clock()

    line_up("p", number=None, window=2, slots=1, default=0.1, longest=9, folder=tmp_path)
    for _ in range(60):
        line_done("p", 0, work=0.1, held=0.05, cpu=0.05, folder=tmp_path)
    job(0.01)
    assert pause("p", folder=tmp_path) == 0.0  # an idle host: no pause after a check
    clock()
    for _ in range(60):
        line_done("p", 0, work=0.2, held=0.1, cpu=0.05, folder=tmp_path)
    expected = 0.05 * (2**GAP_POWER - 2)  # 0.3 s
    job(0.01)
    ended = time.monotonic()
    # Another thread holding the slot next starts only after the pause.
    result: list[tuple[float, Clock]] = []
    other = threading.Thread(target=lambda: result.append(job(0.05)))
    other.start()
    other.join()
    ((started, took),) = result
    # Never before the pause (a loaded machine may wake it late, not early).
    assert expected - 0.02 <= started - ended < expected + 0.5, (started - ended, expected)
    assert 0.04 <= took.held < 0.04 + 0.5 and took.waited >= expected - 0.05  # the pause is waited, not held


def test_a_line_file_written_before_the_pause_was_kept_is_read(tmp_path):
    (tmp_path / "o.line").write_text("7 5 1000.0 0.2 0.1 0.1")
    turn = line_up("o", number=None, window=2, slots=1, default=0.1, longest=9, folder=tmp_path, now=1001.0)
    assert turn is not None and turn.number == 7  # the old six numbers kept, not an empty line


def test_a_stalled_window_widens_with_the_time_that_passed(tmp_path):
    """Numbers let in that never come back would stop the line: when nothing is done for STALL_SECONDS (or twice
    the window's intervals), one more number is let in for each interval that passes."""
    t = 2_000_000.0

    def up(number: int | None = None, now: float = t) -> Turn | None:
        return line_up(
            "s", number=number, window=2, slots=1, default=0.5, longest=100, folder=tmp_path, now=now
        )

    turns = [up() for _ in range(6)]
    assert [x.wait for x in turns] == pytest.approx(
        [0, 0, 0.5 * EARLY, 1.0 * EARLY, 1.5 * EARLY, 2.0 * EARLY]
    )
    assert up(2, now=t + STALL_SECONDS).wait > 0
    assert up(2, now=t + STALL_SECONDS + 0.51) == Turn(2, 0.0)  # one more per interval
    assert up(5, now=t + STALL_SECONDS + 0.51).wait > 0
    assert up(5, now=t + STALL_SECONDS + 2.01) == Turn(5, 0.0)


def test_many_processes_share_one_line(tmp_path):
    """Numbers taken at once from many threads (each its own open file, as gunicorn's workers are) never repeat."""
    numbers: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            turn = line_up("y", number=None, window=2, slots=1, default=0.001, longest=1_000, folder=tmp_path)
            with lock:
                numbers.append(turn.number)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(numbers) == list(range(400))
    (tmp_path / "y.line").write_text("not numbers")  # a damaged file: an empty line, not an error
    assert line_up("y", number=None, window=2, slots=1, default=1, longest=10, folder=tmp_path) == Turn(
        0, 0.0
    )


def test_a_late_comer_is_told_when_to_come_back_before_anything_is_read(
    app, client, enterprise, make_person, fresh_line
):
    person = make_person(enterprise)
    db.session.commit()
    _set_state(50, 0, 5.0)  # 50 numbers given, none done, one done every 5 s
    with recorded_statements(skip=TRANSACTION) as seen:
        resp = client.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
    assert resp.status_code == 503
    assert float(resp.headers[LINE_TURN_HEADER]) == pytest.approx(49 * 5.0 * EARLY, abs=0.01)
    told = math.ceil(49 * 5.0 * EARLY)  # 49 before it beyond the window, 5 s each, told a bit early
    # A turn that far off is asked again on the way (the pace may change), the place kept.
    assert told > signin.LINE_RECHECK
    assert resp.headers["Retry-After"] == str(math.ceil(signin.LINE_RECHECK))
    assert float(resp.headers[LINE_WAIT_HEADER]) == pytest.approx(signin.LINE_RECHECK)
    assert not [s for s in seen if "users" in s or "login_attempts" in s], seen  # refused before any read
    page = resp.get_data(as_text=True)
    assert "当前登录人数较多" in page and f"约 {told} 秒后轮到您" in page  # the page says when, in words
    with client.session_transaction() as s:
        number, given = s[LINE_TICKET]
    assert number == 50 and abs(given - time.time()) < 60
    assert _state()[0] == 51

    # Coming back early (a script hammering the form) gains nothing and costs the others nothing: the same number,
    # no new one given, still nothing read.
    for _ in range(5):
        with recorded_statements(skip=TRANSACTION) as seen:
            again = client.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
        assert again.status_code == 503 and float(again.headers[LINE_TURN_HEADER]) == pytest.approx(
            told, abs=1
        )
        assert not [s for s in seen if "users" in s], seen
    assert _state()[0] == 51
    with client.session_transaction() as s:
        assert s[LINE_TICKET] == [number, given]

    # Another browser arriving now queues behind it.
    other = app.test_client()
    late = other.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
    assert late.status_code == 503 and float(late.headers[LINE_TURN_HEADER]) == pytest.approx(
        50 * 5.0 * EARLY, abs=0.01
    )

    # The crowd before it done (as far as 48), it is in and signs in; the later one is still asked to wait;
    # nothing was recorded against the account by any refusal.
    attempts = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.user_id == person.user.id)
    assert db.session.scalar(attempts) == 0
    line_done(LINE, 48, work=10.0, held=5.0, cpu=5.0, folder=instance_dir() / "locks")
    resp = client.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
    assert resp.status_code in (302, 303)
    assert _state()[1] == 51  # done in the line
    late = other.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
    assert late.status_code in (302, 303)  # 51 is now within the window of 2 after 50
    db.session.expire_all()
    user = db.session.get(User, person.user.id)
    assert (user.failed_sign_ins or 0) == 0


def test_an_old_ticket_is_not_kept_and_a_full_line_gives_none(
    app, client, enterprise, make_person, fresh_line
):
    person = make_person(enterprise)
    db.session.commit()
    _set_state(10, 0, 2.0)
    with (
        client.session_transaction() as s
    ):  # a number from an earlier rush, long gone: it does not skip the line
        s[LINE_TICKET] = [3, time.time() - 900 - signin.LINE_KEEP - 5]
    resp = client.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
    assert resp.status_code == 503
    with client.session_transaction() as s:
        assert s[LINE_TICKET][0] == 10

    # A wait longer than LMS_LOGIN_LINE_SECONDS: no number is given (a flood cannot push everyone's turn without
    # bound), the person is asked to come back when the line's end will be near enough, and the line does not
    # grow.
    _set_state(100, 0, 2.0)  # 99 before a new comer beyond the window: about 200 s
    app.config["LOGIN_LINE_SECONDS"] = 50
    try:
        other = app.test_client()
        resp = other.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
        assert resp.status_code == 503
        # 148 s beyond the longest wait, told a bit early (133 s): far off, so asked again after 120 s
        assert resp.headers["Retry-After"] == "120"
        assert "当前排队登录的人数已满，请约 120 秒后再试。" in resp.get_data(as_text=True)
        assert _state()[0] == 100
        with other.session_transaction() as s:
            assert LINE_TICKET not in s
        # Nearly room: not sooner than a tenth of the longest wait (a flood's browsers do not ask more often).
        _set_state(28, 0, 2.0)  # 27 before a new comer: 54 s, 4 s beyond the longest
        resp = app.test_client().post(
            "/login", data={"login": person.user.username, "password": TEST_PASSWORD}
        )
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    finally:
        app.config.pop("LOGIN_LINE_SECONDS")


def test_a_far_turn_is_asked_again_a_few_times_not_every_two_minutes(app, fresh_line):
    """A person 400 numbers back (over 13 minutes at one sign-in every 2 s) comes back each time as told
    while the line keeps its pace: asked again after half the turn each time (``come_back_after``), so a few
    refusals in all (a fixed 120 s made it eight or more, each a request in the exam's rush: bench/README,
    "Login storm"), never told to come back after the turn, and let in once the numbers before it are done."""
    policy = signin.Policy.from_config(app.config)
    start = time.time()
    _set_state(400, 0, 2.0)
    t, ticket, told = start, None, []
    while True:
        done = int((t - start) / 2.0)  # the line's pace: one done every 2 s
        if done:
            line_done(LINE, done - 1, work=4.0, held=1.0, cpu=1.0, folder=instance_dir() / "locks", now=t)
        try:
            ticket = signin.wait_in_line(policy, ticket, now=t)
            break
        except signin.SignInBusy as busy:
            ticket = busy.ticket
            assert busy.wait <= busy.turn + 1e-9  # never after the turn as estimated
            assert busy.wait >= min(busy.turn, signin.LINE_RECHECK) - 1e-9
            told.append(busy.wait)
            t += busy.wait
        assert len(told) < 20
    assert ticket is not None and ticket.number == 400
    assert told[0] == pytest.approx(399 * 2.0 * EARLY / 2)  # half of the first turn (about 720 s)
    assert len(told) <= 6, told  # 359, 198, 120, 110, 11, 2 s (a fixed 120 s: nine)
    assert t - start <= 399 * 2.0 + 2.0, told  # in within one sign-in of its turn
    assert [signin.come_back_after(x) for x in (60, 120, 220, 1000, 5000)] == [60, 120, 120, 500, 600]


def test_an_empty_line_changes_nothing_for_one_person(client, enterprise, make_person, fresh_line):
    person = make_person(enterprise)
    db.session.commit()
    resp = client.post("/login", data={"login": person.user.username, "password": TEST_PASSWORD})
    assert resp.status_code in (302, 303)
    assert "Set-Cookie" in resp.headers
    with client.session_transaction() as s:
        assert LINE_TICKET not in s
    assert _state()[:2] == (1, 1)  # one number given, and done


def test_the_page_script_is_answered_where_to_go(client, enterprise, make_person, fresh_line):
    """The sign-in page's script sends the form with X-Sign-In-Line: signed in, it gets where to go as JSON (a
    redirect would make its fetch load the home page for nothing); the device cookie is set as for a redirect."""
    person = make_person(enterprise)
    db.session.commit()
    resp = client.post(
        "/login?next=/quizzes/",
        data={"login": person.user.username, "password": TEST_PASSWORD},
        headers={LINE_HEADER: "1"},
    )
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert json.loads(resp.get_data()) == {"location": "/quizzes/"}
    assert "lms_device=" in " ".join(resp.headers.getlist("Set-Cookie"))
    assert client.get("/quizzes/").status_code == 200  # signed in
    # A wrong password is answered with the page, as without the script.
    client.post("/logout", data={})
    other = client.application.test_client()
    resp = other.post(
        "/login", data={"login": person.user.username, "password": "wrong"}, headers={LINE_HEADER: "1"}
    )
    assert resp.status_code == 200 and resp.mimetype == "text/html"


def test_the_page_script_is_refused_with_the_seconds_only(client, enterprise, make_person, fresh_line):
    """In a rush most answers are refusals; the page's script (X-Sign-In-Line) counts down from the headers, so it
    gets them without a page rendered for nothing, and no message is left in the session to show up on the next
    page. Its number is kept as for the plain form."""
    person = make_person(enterprise)
    db.session.commit()
    _set_state(20, 0, 2.0)
    form = {"login": person.user.username, "password": TEST_PASSWORD}
    resp = client.post("/login", data=form, headers={LINE_HEADER: "1"})
    assert resp.status_code == 503 and resp.get_data() == b""
    assert float(resp.headers[LINE_WAIT_HEADER]) == pytest.approx(19 * 2.0 * EARLY, abs=0.01)
    assert resp.headers["Retry-After"] == str(math.ceil(19 * 2.0 * EARLY))
    with client.session_transaction() as s:
        assert s[LINE_TICKET][0] == 20
        assert not s.get("_flashes")
    # Its turn come, the same browser is in, and the page it then opens carries no stale "wait" message.
    line_done(LINE, 18, work=4.0, held=2.0, cpu=2.0, folder=instance_dir() / "locks")
    resp = client.post("/login?next=/quizzes/", data=form, headers={LINE_HEADER: "1"})
    assert resp.status_code == 200 and json.loads(resp.get_data()) == {"location": "/quizzes/"}
    assert "当前登录人数较多" not in client.get("/quizzes/").get_data(as_text=True)


# ---------------------------------------------------------------- a crowd against a real gunicorn


@pytest.fixture(scope="module")
def server(app: Any):
    from tests.reliability.conftest import Live

    live = Live(workers=2, threads=4)
    live.env.pop("LMS_LOGIN_HASH_QUEUE", None)
    live.env.pop("LMS_THREADS", None)
    live.env.update(LMS_LOGIN_HASH_SLOTS="1", LMS_LOGIN_MAX_FAILURES="10")
    live.start()
    try:
        yield live
    finally:
        live.close()


def test_a_crowd_waits_its_turns_with_few_refusals(server):
    """40 people press "sign in" within a second into 2 workers with one check slot on the host, each coming back
    when told (the seconds of X-Sign-In-Wait, as the page's script does). End to end through gunicorn: all sign
    in, nothing is charged, most are told to wait at first (a line forms), and each person is refused only a few
    times. (At this size a fixed retry also gets through
    in a few rounds; what the line changes at full scale is measured in bench/README, "Login storm".)"""
    from tests.org.test_signin_slots import _seed
    from tests.reliability.conftest import PASSWORD, Browser

    names = _seed(server, 40)
    refusals: dict[int, int] = {}
    first_waits: dict[int, float] = {}
    lock = threading.Lock()

    def person(i: int, name: str) -> None:
        time.sleep(i * 0.025)
        b = Browser(server.base)
        b.request("GET", "/login")
        refused = 0
        while True:
            status, headers, _body = b.request("POST", "/login", data={"login": name, "password": PASSWORD})
            if status in (302, 303):
                break
            assert status == 503, status
            wait = float(headers[LINE_WAIT_HEADER])
            if refused == 0:
                with lock:
                    first_waits[i] = wait
            refused += 1
            assert refused < 30
            time.sleep(wait)
        with lock:
            refusals[i] = refused

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(lambda a: person(*a), enumerate(names)))
    took = time.monotonic() - t0
    assert len(refusals) == 40
    assert sum(refusals.values()) <= 6 * 40, refusals  # 2-3 each on a quiet machine
    assert took < 240  # the checks back off on a busy host (a loaded CI machine): slow, not stuck
    # Most were told a wait at first (a line formed). That later comers are told longer waits is checked exactly
    # in test_a_late_comer_is_told_when_to_come_back_before_anything_is_read; here the pace itself moves
    # while the crowd arrives (on a loaded machine the checks pause for the other work), so the first waits of
    # the first and second halves are not comparable (seen in a whole-suite run: 1.3 s and 1.5 s on average).
    assert len(first_waits) >= 20, first_waits
    with server.db():
        users = db.session.scalars(select(User).where(User.username.in_(names))).all()
        assert all((u.failed_sign_ins or 0) == 0 for u in users)
        n = db.session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.user_id.in_([u.id for u in users]), LoginAttempt.success.is_(True))
        )
        assert n == 40
    assert "Traceback" not in server.log_text()
