"""Generated input files for the benchmarks (rosters, sign-in sheets, a test video), made once per run."""

from __future__ import annotations

import csv
import datetime as dt
import random
import subprocess
from pathlib import Path

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华飞玉萍红娥玲芬建国志海燕文博宇浩然子涵欣怡梓轩"
DEPARTMENTS = [
    "一车间/甲班",
    "一车间/乙班",
    "二车间/甲班",
    "二车间/乙班",
    "三车间/焊接班",
    "仓储物流部",
    "设备动力部/电工班",
    "安全环保部",
]
POSTS = [
    ("操作工", "一线从业人员"),
    ("班组长", "班组长"),
    ("焊工", "特种作业人员"),
    ("电工", "特种作业人员"),
    ("叉车司机", "特种设备作业人员"),
    ("仓管员", "一线从业人员"),
    ("安全管理员", "安全生产管理人员"),
]
ROSTER_HEADERS = ["工号", "姓名", "部门", "岗位", "安全责任角色", "入职日期", "手机号"]


def roster_rows(n: int, prefix: str = "R", seed: int = 10):
    """Yield ``n`` plausible roster rows (strings, as a clerk's sheet has them)."""
    rng = random.Random(seed)
    for i in range(1, n + 1):
        post, role = POSTS[0] if rng.random() < 0.55 else rng.choice(POSTS)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        hired = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 16))
        yield [
            f"{prefix}{i:06d}",
            name,
            rng.choice(DEPARTMENTS),
            post,
            role,
            hired.isoformat(),
            f"13{rng.randrange(10**9):09d}",
        ]


def write_sheet(path: Path, headers: list[str], rows, title: str = "Sheet1") -> Path:
    """Write rows to ``path`` as xlsx (openpyxl write-only) or UTF-8 csv, by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(headers)
            w.writerows(rows)
        return path
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.append(headers)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def roster_file(folder: Path, n: int, fmt: str) -> Path:
    """A roster of ``n`` people (made once per size and format)."""
    path = folder / f"roster-{n}.{fmt}"
    if not path.exists():
        write_sheet(path, ROSTER_HEADERS, roster_rows(n), "员工花名册")
    return path


def test_video(ffmpeg: str, path: Path, seconds: int, size: str = "1920x1080", rate: int = 25) -> Path:
    """A lavfi test pattern with a tone, H.264/AAC in MP4 (made once)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.mp4")
    subprocess.run(
        [
            ffmpeg,
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate={rate}:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(rate * 2),
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-shortest",
            "-movflags",
            "+faststart",
            str(tmp),
        ],
        check=True,
    )
    tmp.rename(path)
    return path
