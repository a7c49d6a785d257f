"""High-risk industries (高危行业): an enterprise is high-risk because of its industry, not a hand-set flag.

The industries are those the regulations name for the higher training figures and the stricter duties:

* 《生产经营单位安全培训规定》(原国家安全监管总局令第3号, 第63号、第80号令修订) 第九条、第十三条:
  煤矿、非煤矿山、危险化学品、烟花爆竹、金属冶炼等生产经营单位 (48/16 学时, 72/20 学时);
* 《中华人民共和国安全生产法》(2021年修正) 第二十四条、第二十七条: 矿山、金属冶炼、建筑施工、运输单位和
  危险物品的生产、经营、储存、装卸单位 (危险物品 includes 民用爆炸物品, 第一百一十七条).

An industry is high-risk when its name contains one of these words (so "危险化学品生产", "非煤矿山" and
"道路运输" are, "机械制造" is not).
"""

from __future__ import annotations

HIGH_RISK_INDUSTRIES: tuple[str, ...] = (
    "煤矿",
    "矿山",
    "危险化学品",
    "危险物品",
    "烟花爆竹",
    "民用爆炸物品",
    "金属冶炼",
    "建筑施工",
    "运输",
)


def is_high_risk(industry: str | None) -> bool:
    """Whether an enterprise of ``industry`` is high-risk under the regulations named above."""
    name = (industry or "").strip()
    return bool(name) and any(word in name for word in HIGH_RISK_INDUSTRIES)
