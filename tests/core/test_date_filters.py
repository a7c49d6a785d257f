"""The ``date`` and ``dt`` filters write a day or a minute without babel (a list page writes dozens): the same
text babel writes for the same pattern, in every language the product speaks, for days across the calendar."""

from __future__ import annotations

import datetime as dt
import random

from flask_babel import force_locale, format_date, format_datetime

from lms.core import templating
from lms.core.timeutil import to_local


def test_day_and_minute_as_babel_writes_them(app):
    rng = random.Random(20261207)
    days = [
        dt.date(1, 1, 1),
        dt.date(999, 12, 31),
        dt.date(1000, 1, 1),
        dt.date(2026, 2, 28),
        dt.date(9999, 12, 31),
    ]
    days += [dt.date.fromordinal(rng.randint(700_000, 760_000)) for _ in range(300)]
    times = [
        dt.datetime(2026, 12, 31, 16, 0),
        dt.datetime(2026, 6, 30, 15, 59, 59),
        dt.datetime(1999, 12, 31, 23, 5),
    ]
    times += [
        dt.datetime.combine(d, dt.time(rng.randrange(24), rng.randrange(60), rng.randrange(60)))
        for d in days[5:]
    ]
    with app.test_request_context("/"):
        for lang in app.config["LANGUAGES"]:
            with force_locale(lang):
                for d in days:
                    assert templating._date(d) == format_date(d, "yyyy-MM-dd"), (lang, d)
                    assert templating._dt(d) == format_date(d, "yyyy-MM-dd"), (lang, d)
                for t in times:
                    local = to_local(
                        t
                    )  # stored naive UTC, shown in the enterprise's (here the platform's) zone
                    assert templating._date(t) == format_datetime(local, "yyyy-MM-dd", rebase=False), (
                        lang,
                        t,
                    )
                    assert templating._dt(t) == format_datetime(local, "yyyy-MM-dd HH:mm", rebase=False), (
                        lang,
                        t,
                    )
                    assert templating._dt(t, "HH:mm") == format_datetime(local, "HH:mm", rebase=False)
    assert templating._date(None) == "—" and templating._dt(None) == "—"
