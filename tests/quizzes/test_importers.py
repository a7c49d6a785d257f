import io
import json

import pytest

from lms.core.errors import ImportRefused
from quizzes.importers import parse_file
from tests.quizzes.conftest import SAMPLES

HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "难度", "分类", "分值"]


def xlsx(rows, header=HEADER, title=None):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_sample_xlsx_imports_as_is():
    r = parse_file(SAMPLES / "confined-space-bank.xlsx", "confined-space-bank.xlsx")
    assert r.errors == []
    assert len(r.questions) == 12
    by_row = {q.row: q for q in r.questions}
    assert by_row[2].type == "single_choice" and by_row[2].key == 0 and by_row[2].points == 2
    assert by_row[2].stem == "进入有限空间作业前，必须首先进行的是："  # Chinese punctuation kept
    assert by_row[4].key == [0, 1, 2, 3] and by_row[4].options[-1] == "噪声"
    assert (
        by_row[5].type == "true_false"
        and by_row[5].key is False
        and by_row[5].explanation == "必须设置监护人员。"
    )
    assert by_row[6].key is True and by_row[11].key is True
    assert by_row[8].key == [0, 1, 2, 3] and by_row[8].difficulty == "hard"
    assert by_row[9].type == "fill_blank" and by_row[9].key == [["预防为主"]]


def test_sample_gift_imports_as_is():
    r = parse_file(SAMPLES / "electrical.gift.txt", "electrical.gift.txt")
    assert r.format == "gift" and r.errors == []
    kinds = [(q.type, q.key) for q in r.questions]
    assert kinds == [
        ("single_choice", 0),
        ("true_false", False),
        ("multiple_choice", [0, 1]),
        ("fill_blank", [["42", "42V"]]),
    ]
    assert all(q.category == "用电安全" for q in r.questions)
    assert r.questions[3].stem == "我国安全电压的最高额定值是 ____ 伏。"


def test_sample_aiken_imports_as_is():
    r = parse_file(SAMPLES / "ppe.aiken.txt", "ppe.aiken.txt")
    assert r.format == "aiken" and r.errors == []
    assert [(q.type, q.key, len(q.options)) for q in r.questions] == [
        ("single_choice", 1, 4),
        ("single_choice", 1, 4),
    ]


@pytest.mark.parametrize("answer", ["A,B,D", "A、B、D", "ABD", "ＡＢＤ", "a b d", "A，B，D"])
def test_multiple_answer_spellings(answer):
    r = parse_file(xlsx([["多选题", "题", "甲", "乙", "丙", "丁", answer, "", "", "", ""]]), "m.xlsx")
    assert r.errors == [] and r.questions[0].key == [0, 1, 3]


@pytest.mark.parametrize(
    "answer,truth",
    [
        ("正确", True),
        ("错误", False),
        ("对", True),
        ("错", False),
        ("√", True),
        ("×", False),
        ("T", True),
        ("F", False),
        ("A", True),
        ("B", False),
        ("ｔｒｕｅ", True),
    ],
)
def test_true_false_spellings(answer, truth):
    r = parse_file(xlsx([["判断题", "题", "", "", "", "", answer, "", "", "", ""]]), "t.xlsx")
    assert r.errors == [] and r.questions[0].key is truth


def test_true_false_letters_follow_the_options_given():
    r = parse_file(xlsx([["判断", "题", "错误", "正确", "", "", "B", "", "", "", ""]]), "t.xlsx")
    assert r.questions[0].key is True


def test_messy_rows_are_reported_by_row_and_field():
    rows = [
        ["单选题", "好的题目", "甲", "乙", "", "", "B", "", "易", "有限空间", 2],  # row 3 (title on row 1)
        ["单选题", "缺答案", "甲", "乙", "", "", "", "", "", "", ""],  # 4
        ["问卷题", "坏题型", "甲", "乙", "", "", "A", "", "", "", ""],  # 5
        ["单选题", "", "甲", "乙", "", "", "A", "", "", "", ""],  # 6
        ["单选题", "选了空选项", "甲", "乙", "", "", "D", "", "", "", ""],  # 7
        ["单选题", "单选两个答案", "甲", "乙", "", "", "AB", "", "", "", ""],  # 8
        ["判断题", "判断答案坏", "", "", "", "", "也许", "", "", "", ""],  # 9
        ["单选题", "难度坏", "甲", "乙", "", "", "A", "", "超难", "", ""],  # 10
        ["单选题", "分值坏", "甲", "乙", "", "", "A", "", "", "", "-3"],  # 11
        ["单选题", "好的题目", "甲", "乙", "", "", "B", "", "易", "有限空间", 2],  # 12: duplicate of 3
        ["ｓｉｎｇｌｅ", "全角类型", "甲", "乙", "", "", "Ａ", "", "", "", ""],  # 13: fine
    ]
    r = parse_file(xlsx(rows, title="2026年有限空间题库"), "messy.xlsx")
    problems = {(e["row"], e["field"]) for e in r.errors}
    assert problems == {
        (4, "answer"),
        (5, "type"),
        (6, "stem"),
        (7, "answer"),
        (8, "answer"),
        (9, "answer"),
        (10, "difficulty"),
        (11, "points"),
    }
    assert {q.row for q in r.questions} == {3, 12, 13}


def test_duplicates_are_reported_not_refused_and_compare_answers(bank):
    # Issue 17 changed this: the old expectation (a duplicate refuses the whole file, and the same stem with
    # other answers counts as a duplicate) was the defect.
    from quizzes import exchange

    rows = [
        ["单选题", "重复的题", "甲", "乙", "", "", "B", "", "", "", ""],
        [
            "单选题",
            "重复的题 ",
            "甲",
            "乙",
            "",
            "",
            "A",
            "",
            "",
            "",
            "",
        ],  # same stem, other answer: not a dup
        ["单选题", "重复的题", "甲", "乙", "", "", "B", "", "", "", ""],  # same stem and answer: a duplicate
    ]
    result = exchange.import_questions(bank, xlsx(rows), "dup.xlsx", dry_run=False)
    assert result.committed and result.errors == []
    assert result.created == 2
    assert result.duplicates == [{"row": 4, "duplicate_of": 2, "stem": "重复的题"}]


def test_xls_via_xlwt():
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("题库")
    for c, h in enumerate(
        ["试题类型", "试题内容", "A", "B", "C", "正确答案", "答案解析", "难度", "知识点", "分数"]
    ):
        ws.write(0, c, h)
    for c, v in enumerate(
        ["多项选择题", "灭火的基本方法有：", "隔离法", "窒息法", "冷却法", "A、B、C", "", "难", "消防安全", 4]
    ):
        ws.write(1, c, v)
    out = io.BytesIO()
    wb.save(out)
    r = parse_file(out.getvalue(), "bank.xls")
    assert r.errors == []
    q = r.questions[0]
    assert (q.type, q.key, q.category, q.difficulty, q.points) == (
        "multiple_choice",
        [0, 1, 2],
        "消防安全",
        "hard",
        4,
    )


def test_gbk_csv():
    text = "题型,题目,选项A,选项B,答案,分类\n单选,叉车行驶时货叉离地高度一般为,100mm~200mm,1m以上,A,特种设备\n判断,特种作业人员必须持证上岗。,,,√,法律法规\n"
    r = parse_file(text.encode("gbk"), "bank.csv")
    assert r.errors == []
    assert [q.key for q in r.questions] == [0, True]
    assert r.questions[0].category == "特种设备"


def test_gift_and_aiken_problems_have_line_numbers():
    r = parse_file("::Q1:: 没有答案块的题\n\n::Q2:: 好题 {T}\n".encode(), "x.gift")
    assert [e["row"] for e in r.errors] == [1] and len(r.questions) == 1
    r = parse_file("题一\nA. 甲\nB. 乙\nANSWER: C\n\n题二\nA. 甲\nB. 乙\n".encode(), "x.aiken.txt")
    assert {e["row"] for e in r.errors} == {1, 6}


def test_refuses_empty_and_headerless_files():
    with pytest.raises(ImportRefused):
        parse_file(b"", "empty.xlsx")
    with pytest.raises(ImportRefused):
        parse_file(xlsx([["x"]], header=["姓名", "工号"]), "roster.xlsx")


def test_import_all_or_nothing_then_unchanged_then_update(bank):
    from sqlalchemy import func, select

    from lms.core.db import db
    from quizzes import banks, exchange
    from quizzes.models import Question

    bank = banks.create_bank(bank.enterprise_id, "导入测试题库")
    before = 0
    bad = xlsx(
        [
            ["单选题", "新题一", "甲", "乙", "", "", "A", "", "", "", ""],
            ["单选题", "新题二", "甲", "乙", "", "", "", "", "", "", ""],
        ]
    )
    result = exchange.import_questions(bank, bad, "bad.xlsx", dry_run=False)
    assert not result.committed and result.errors == [
        {"row": 3, "field": "answer", "message": "the answer is missing"}
    ]
    assert (
        db.session.scalar(select(func.count()).select_from(Question).where(Question.bank_id == bank.id))
        == before
    )

    dry = exchange.import_questions(bank, SAMPLES / "confined-space-bank.xlsx", "c.xlsx", dry_run=True)
    assert (dry.created, dry.updated, dry.unchanged, dry.committed) == (12, 0, 0, False)
    done = exchange.import_questions(bank, SAMPLES / "confined-space-bank.xlsx", "c.xlsx", dry_run=False)
    assert done.committed and done.created == 12
    again = exchange.import_questions(bank, SAMPLES / "confined-space-bank.xlsx", "c.xlsx", dry_run=False)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 12)

    # the export imports back unchanged
    headers, rows = exchange.export_rows(bank)
    from lms.core.exports import xlsx_bytes

    back = exchange.import_questions(bank, xlsx_bytes(headers, rows), "export.xlsx", dry_run=True)
    assert back.errors == [] and back.created == 0 and back.updated == 0

    # a corrected key is an update that makes a new version
    changed = xlsx(
        [
            [
                "单选题",
                "有限空间作业中氧含量的安全范围是：",
                "15%~18%",
                "19.5%~23.5%",
                "24%~28%",
                "10%~15%",
                "C",
                "",
                "中",
                "有限空间",
                2,
            ]
        ]
    )
    upd = exchange.import_questions(bank, changed, "fix.xlsx", dry_run=False)
    assert upd.updated == 1
    q = db.session.scalar(
        select(Question).where(Question.bank_id == bank.id, Question.stem.like("有限空间作业中氧含量%"))
    )
    assert q.key == 2 and q.version == 2


def test_cli_import_json(app, enterprise, tmp_path):
    from lms.core.db import db
    from quizzes.cli import import_questions_cmd

    db.session.commit()  # the commands roll back their own work; keep the enterprise (the test still rolls back)
    runner = app.test_cli_runner()
    res = runner.invoke(
        import_questions_cmd,
        [
            str(SAMPLES / "electrical.gift.txt"),
            "--enterprise",
            enterprise.code,
            "--bank",
            "用电安全",
            "--dry-run",
            "--json",
        ],
    )
    data = json.loads(res.output)
    assert res.exit_code == 0 and data["created"] == 4 and data["errors"] == [] and data["duplicates"] == []
    bad = tmp_path / "bad.csv"
    bad.write_text("题型,题干,选项A,选项B,答案\n单选,题,甲,乙,\n", encoding="utf-8")
    res = runner.invoke(
        import_questions_cmd, [str(bad), "--enterprise", enterprise.code, "--bank", "x", "--json"]
    )
    assert res.exit_code == 1, res.output
    assert json.loads(res.output)["errors"] == [
        {"row": 2, "field": "answer", "message": "the answer is missing"}
    ]
    res = runner.invoke(import_questions_cmd, [str(bad), "--enterprise", "NOPE", "--bank", "x", "--json"])
    assert res.exit_code == 2
