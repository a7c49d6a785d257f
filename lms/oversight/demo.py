"""Demo: regions, the regulator's weights, monthly history of DEMO and ZJHG, ZJHG under listed supervision.

Idempotent: regions are set once, weights kept when the account has its own, months already kept are left,
and a listing is added only to an enterprise that never had one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from lms.core import timeutil
from lms.core.db import db
from lms.org.models import Enterprise
from lms.oversight import services
from lms.oversight.models import Listing, RiskSnapshot, RiskWeight

REGIONS = {"DEMO": "临港经济区", "ZJHG": "滨江区", "OTHER": "滨江区"}
HISTORY_MONTHS = 6  # closed months kept, besides the current one


def load(ent: Enterprise, ctx: Any) -> None:
    ents = {
        e.code: e for e in db.session.scalars(select(Enterprise).where(Enterprise.code.in_(list(REGIONS))))
    }
    for code, region in REGIONS.items():
        if code in ents and not ents[code].region:
            ents[code].region = region
    regulator = ctx.accounts.get("regulator")
    if regulator is not None and not db.session.scalar(
        select(func.count()).select_from(RiskWeight).where(RiskWeight.user_id == regulator.id)
    ):
        # The office weighs overdue major hazards and lapsed special-operation certificates a little higher.
        form = {f"weight_{k}": str(w.weight) for k, w in services.default_weights().items()}
        form.update(
            {f"full_at_{k}": str(w.full_at) for k, w in services.default_weights().items() if w.full_at}
        )
        form.update(weight_major_overdue="20", weight_certificates="15", weight_hazards_open="5")
        services.save_weights(regulator, form)
    watched = [ents[c] for c in ("DEMO", "ZJHG") if c in ents]
    today = timeutil.today(ent)
    for first in services.months_back(today, HISTORY_MONTHS + 1):
        todo = [
            e.id
            for e in watched
            if not db.session.scalar(
                select(func.count())
                .select_from(RiskSnapshot)
                .where(RiskSnapshot.enterprise_id == e.id, RiskSnapshot.month == first)
            )
        ]
        if todo:
            services.take_snapshot(todo, first, today)
    if "ZJHG" in ents and regulator is not None:
        zjhg = ents["ZJHG"]
        if not db.session.scalar(
            select(func.count()).select_from(Listing).where(Listing.enterprise_id == zjhg.id)
        ):
            # An earlier listing, lifted, and the one open now.
            local_now = timeutil.to_local(dt.datetime.now(dt.UTC), zjhg)
            assert local_now is not None
            earlier = local_now.replace(hour=10, minute=0, second=0, microsecond=0) - dt.timedelta(days=150)
            db.session.add(
                Listing(
                    enterprise_id=zjhg.id,
                    reason=f"{earlier:%Y年%m月}执法检查：三车间动火作业未办理作业票，特种作业人员无证上岗2人。",
                    deadline_at=timeutil.to_utc(earlier + dt.timedelta(days=30), zjhg),
                    listed_at=timeutil.to_utc(earlier, zjhg),
                    listed_by_id=regulator.id,
                    lifted_at=timeutil.to_utc(earlier + dt.timedelta(days=26), zjhg),
                    lifted_by_id=regulator.id,
                    lift_note="复查合格：作业票制度已落实，2名人员已取得特种作业操作证。",
                )
            )
            deadline = (local_now + dt.timedelta(days=30)).replace(hour=17, minute=0, second=0, microsecond=0)
            services.list_enterprise(
                zjhg,
                f"{local_now - dt.timedelta(days=20):%Y年%m月}执法检查：储罐区可燃气体报警器失效（重大隐患）；"
                "二车间动火作业未办理作业票。"
                "请于期限前完成整改并报送整改报告。",
                timeutil.to_utc(deadline, zjhg),
                regulator,
            )
    db.session.flush()
    ctx.echo(f"oversight: regions, weights, {HISTORY_MONTHS + 1} months of history, ZJHG listed")
