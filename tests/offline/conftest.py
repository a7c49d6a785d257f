"""Fixtures of the offline tests: the sample roster and sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
if not SAMPLES.exists():  # pragma: no cover - a checkout without ../shared: use the bundled copies
    SAMPLES = Path(__file__).resolve().parents[2] / "lms" / "offline" / "demo_data"
ATTENDANCE = SAMPLES / "attendance" if (SAMPLES / "attendance").exists() else SAMPLES
ROSTER = Path(__file__).resolve().parents[2] / "lms" / "demo_data" / "roster.xlsx"


@pytest.fixture
def roster_enterprise(make_enterprise: Callable[..., Any]) -> Any:
    """An enterprise with the sample roster (GA1001…GA1120) imported."""
    from lms.org.roster import import_roster

    ent = make_enterprise()
    result = import_roster(ent, ROSTER, ROSTER.name, dry_run=False)
    assert not result.errors, result.errors
    return ent


@pytest.fixture
def make_session(app: Any) -> Callable[..., Any]:
    """Create a session: ``make_session(ent, topic="…", starts_at=…, hours=2, **fields)``."""
    from lms.offline import services

    def make(
        ent: Any,
        topic: str = "有限空间作业安全",
        starts_at: dt.datetime | None = None,
        hours: Any = "3",
        **kwargs: Any,
    ) -> Any:
        return services.create_session(
            ent.id,
            topic=topic,
            starts_at=starts_at or dt.datetime(2026, 11, 12, 14, 0),
            hours=hours,
            category=kwargs.pop("category", "有限空间"),
            **kwargs,
        )

    return make


def sample(name: str) -> Path:
    return ATTENDANCE / name
