"""Demo data for safety culture: both presets, a demonstration-post campaign for the previous quarter (published
and awarded) and for the current one (calculated: provisional until the quarter ends) over the workshop posts (automatic values from the real training data, manual scores
filled in), last year's safety-culture evaluation, this year's at its review step (the evaluator has units to score),
two notices partly acknowledged and a publicity record.
Idempotent: campaigns and notices are found by name and left alone once made."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from sqlalchemy import select

from lms.core.db import db, utcnow
from lms.culture import campaigns, frameworks, lifecycle, notices, notify, score_entry
from lms.culture.models import DRAFT, Campaign, Framework, Notice, NoticeAck
from lms.org.models import Department, Enterprise, User

DEMO_DEPARTMENTS = ("一车间", "二车间", "三车间", "仓储物流部")


def _scores(campaign: Campaign, ctx: Any, stage_actor: User, *, self_stage: bool) -> None:
    snap = campaigns.campaign_snapshot(campaign)
    scorable = score_entry.scorable_indicators(snap)
    for n, unit in enumerate(campaign.units):
        rng = ctx.rng
        entries = {}
        for ind in scorable:
            if ind["kind"] == "manual":
                scale = float((ind.get("config") or {}).get("scale_max") or 10)
                base = 0.7 + rng.random() * 0.3
                entries[ind["id"]] = (
                    round(scale * base * 2) / 2,
                    "现场检查、台账抽查" if not self_stage else "班组自评",
                )
            elif ind["kind"] == "deduction":
                entries[ind["id"]] = (1 if n == 2 else 0, "安全检查记录" if n == 2 else None)
            else:
                entries[ind["id"]] = (0, None)
        actor = stage_actor
        if self_stage and unit.leader_user_id:
            actor = db.session.get(User, unit.leader_user_id) or stage_actor
        score_entry.record_scores(campaign, unit, entries, actor=actor)
        if self_stage:
            score_entry.submit_self_assessment(campaign, unit, actor)
        else:
            unit.reviewed_at = utcnow()
    db.session.flush()


def _run(campaign: Campaign, ctx: Any, *, publish: bool, award: bool, close: bool, as_of: dt.date) -> None:
    manager, evaluator = ctx.accounts["manager"], ctx.accounts["evaluator"]
    lifecycle.start_self_assessment(campaign)
    _scores(campaign, ctx, manager, self_stage=True)
    lifecycle.start_review(campaign)
    _scores(campaign, ctx, evaluator, self_stage=False)
    lifecycle.calculate(campaign, as_of=as_of, today=ctx.today)
    if publish:
        lifecycle.publish(campaign)
    if award:
        lifecycle.award(campaign)
    if close:
        lifecycle.close(campaign)


def _campaign(
    ent: Enterprise,
    fw: Framework,
    name: str,
    kind: str,
    year: int,
    quarter: int | None,
    unit_kind: str,
    units: list[tuple[int | None, int | None]],
    ctx: Any,
) -> Campaign | None:
    """Return a new draft campaign, or None when it already exists past its draft (nothing to do)."""
    found = db.session.scalar(select(Campaign).where(Campaign.enterprise_id == ent.id, Campaign.name == name))
    if found is not None:
        if found.status != DRAFT:
            return None
        db.session.delete(found)
        db.session.flush()
    evaluators = [ctx.accounts["evaluator"].id, ctx.accounts["manager"].id]
    return campaigns.create_campaign(
        ent.id,
        fw,
        name=name,
        period_kind=kind,
        year=year,
        quarter=quarter,
        unit_kind=unit_kind,
        units=units,
        evaluator_ids=evaluators,
        actor=ctx.accounts["manager"],
    )


def _board_photo() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (480, 320), (30, 90, 150))
    draw = ImageDraw.Draw(img)
    draw.rectangle((30, 30, 450, 290), fill=(245, 245, 235), outline=(200, 40, 40), width=6)
    for y in range(70, 270, 28):
        draw.line((60, y, 420, y), fill=(120, 120, 120), width=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _notices(ent: Enterprise, ctx: Any) -> None:
    manager = ctx.accounts["manager"]
    depts = {
        d.path: d for d in db.session.scalars(select(Department).where(Department.enterprise_id == ent.id))
    }
    specs = [
        (
            "关于开展有限空间作业专项整治的通知",
            "各车间：\n\n为防止有限空间作业中毒窒息事故，即日起开展专项整治：\n\n"
            "1. **作业前**必须办理有限空间作业审批，严格执行“先通风、再检测、后作业”；\n"
            "2. 作业现场设专人监护，配备正压式空气呼吸器；\n3. 未经培训考核合格的人员**不得**进入有限空间。\n\n安全环保部",
            [("department", depts[p].id) for p in ("一车间", "二车间") if p in depts],
            False,
        ),
        (
            "安全生产月活动安排",
            "全体员工：\n\n本月为“安全生产月”，主题为“人人讲安全、个个会应急”。\n\n"
            "- 每个班组组织一次应急演练；\n- 参加线上“安全知识竞赛”；\n- 隐患随手拍，查实后给予奖励。",
            [],
            True,
        ),
    ]
    for i, (title, body, targets, everyone) in enumerate(specs):
        n = db.session.scalar(select(Notice).where(Notice.enterprise_id == ent.id, Notice.title == title))
        if n is not None:
            continue
        n = notices.save_notice(
            ent.id, title=title, body_md=body, targets=targets, audience_all=everyone, actor=manager
        )
        notices.publish_notice(n, manager)
        acks = db.session.scalars(
            select(NoticeAck).where(NoticeAck.notice_id == n.id).order_by(NoticeAck.person_id)
        ).all()
        share = 0.8 if i == 0 else 0.55
        signed = []
        for ack in acks:
            if ctx.rng.random() < share:
                ack.acknowledged_at = utcnow() - dt.timedelta(hours=ctx.rng.randrange(1, 96))
                signed.append(ack.person_id)
        notify.acknowledged(n, signed)  # publishing notified everyone; those who signed have read it
        if i == 0:
            notices.record_publicity(
                n,
                held_on=ctx.today,
                place="一车间门口安全宣传栏",
                note="张贴通知并在班前会宣读",
                actor=manager,
                photo=(io.BytesIO(_board_photo()), "宣传栏.png"),
            )
    db.session.flush()


def load(enterprise: Enterprise, ctx: Any) -> None:
    """Add the culture demo to the demo enterprise."""
    ent = enterprise
    post_fw = frameworks.install_preset(ent.id, "demonstration_post")
    culture_fw = frameworks.install_preset(ent.id, "culture_aqt9004")
    _notices(ent, ctx)

    wanted = {d for d in DEMO_DEPARTMENTS}
    units = [
        (u["department_id"], u["post_id"])
        for u in campaigns.candidate_units(ent.id, "department_post")
        if u["label"].split("/")[0].split("·")[0] in wanted
    ]
    year, quarter = campaigns.quarter_of(ctx.today)
    prev_year, prev_q = (year, quarter - 1) if quarter > 1 else (year - 1, 4)

    prev = _campaign(
        ent,
        post_fw,
        f"{prev_year}年第{prev_q}季度安全示范岗评选",
        "quarter",
        prev_year,
        prev_q,
        "department_post",
        units,
        ctx,
    )
    if prev is not None:
        _run(prev, ctx, publish=True, award=True, close=True, as_of=prev.period_end)
    current = _campaign(
        ent,
        post_fw,
        f"{year}年第{quarter}季度安全示范岗评选",
        "quarter",
        year,
        quarter,
        "department_post",
        units,
        ctx,
    )
    if current is not None:
        # The quarter is not over: its results are provisional (labelled so), not published.
        _run(current, ctx, publish=False, award=False, close=False, as_of=ctx.today)
        vetoed = [u.label for u in current.units if u.vetoed]
        ctx.echo(f"  culture: {len(current.units)} units, vetoed: {'、'.join(vetoed) or 'none'}")

    dept_units = [
        (u["department_id"], None)
        for u in campaigns.candidate_units(ent.id, "department")
        if u["label"] in wanted
    ]
    annual = _campaign(
        ent,
        culture_fw,
        f"{year - 1}年度企业安全文化建设评价",
        "year",
        year - 1,
        None,
        "department",
        dept_units,
        ctx,
    )
    if annual is not None:
        _run(annual, ctx, publish=True, award=False, close=True, as_of=annual.period_end)
    this_year = _campaign(
        ent, culture_fw, f"{year}年度企业安全文化建设评价", "year", year, None, "department", dept_units, ctx
    )
    if this_year is not None:
        _in_review(this_year, ctx)
    db.session.flush()


def _in_review(campaign: Campaign, ctx: Any) -> None:
    """Leave the campaign at its review step (评分): the units assessed themselves, the evaluator has scored
    the first unit and has the others still to score (the scoring page, its score inputs and evidence uploads)."""
    manager, evaluator = ctx.accounts["manager"], ctx.accounts["evaluator"]
    lifecycle.start_self_assessment(campaign)
    _scores(campaign, ctx, manager, self_stage=True)
    lifecycle.start_review(campaign)
    first = campaign.units[:1]
    if first:
        snap = campaigns.campaign_snapshot(campaign)
        entries = {
            i["id"]: (float((i.get("config") or {}).get("scale_max") or 10) * 0.8, "现场检查、台账抽查")
            for i in score_entry.scorable_indicators(snap)
            if i["kind"] == "manual"
        }
        score_entry.record_scores(campaign, first[0], entries, actor=evaluator)
        first[0].reviewed_at = utcnow()
    db.session.flush()
    ctx.echo(
        f"  culture: {campaign.name} at its review step, {len(campaign.units) - len(first)} units to score"
    )
