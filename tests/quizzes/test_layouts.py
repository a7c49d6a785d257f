"""The spreadsheet layouts of other Chinese exam systems, on files built in each layout (real xlsx)."""

from __future__ import annotations

import io

import openpyxl
import pytest

from lms.core.errors import ImportRefused
from quizzes.importers import parse_file


def book(sheets: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_header_synonyms():
    data = book(
        {
            "Sheet1": [
                ["题型", "题目详情", "选项A", "选项B", "选项C", "正确选项", "整体解析", "知识类型名称"],
                [
                    "单选题",
                    "动火作业前应当：",
                    "检测可燃气体",
                    "直接动火",
                    "通知家属",
                    "A",
                    "先检测",
                    "动火作业",
                ],
                ["判断题", "可以在禁烟区吸烟。", "", "", "", "错误", "", "消防"],
            ]
        }
    )
    r = parse_file(data, "exam-system.xlsx")
    assert r.errors == []
    assert [(q.type, q.key, q.category) for q in r.questions] == [
        ("single_choice", 0, "动火作业"),
        ("true_false", False, "消防"),
    ]
    assert r.questions[0].explanation == "先检测"


@pytest.mark.parametrize(
    ("stem", "answer", "explanation", "category"),
    [("题目标题", "正确答案", "答案解析", "知识类"), ("试题内容", "标准答案", "整体解析", "所属章节")],
)
def test_other_header_synonyms(stem, answer, explanation, category):
    data = book(
        {
            "题库": [
                ["题型", stem, "选项A", "选项B", answer, explanation, category],
                ["多选", "防护用品有：", "安全帽", "安全带", "AB", "都对", "劳保"],
            ]
        }
    )
    r = parse_file(data, "x.xlsx")
    assert r.errors == [] and (r.questions[0].key, r.questions[0].category) == ([0, 1], "劳保")


@pytest.mark.parametrize(
    "header",
    [
        "题型（0单选，1判断，2多选）",
        "题型\n0单选，1判断，2多选",
        "题型（0:单选 1:判断 2:多选）",
        "题型[0单选/1判断/2多选]",
    ],
)
def test_type_as_number_with_legend_in_header(header):
    # The legend in brackets after 题型, or on the header cell's second line.
    data = book(
        {
            "Sheet1": [
                [header, "题目", "选项A", "选项B", "选项C", "答案"],
                ["0", "灭火器压力表指针在绿区表示：", "正常", "欠压", "超压", "A"],
                ["1", "电焊作业必须持证。", "", "", "", "正确"],
                ["2", "有限空间危害有：", "缺氧", "中毒", "噪声", "AB"],
            ]
        }
    )
    r = parse_file(data, "x.xlsx")
    assert r.errors == []
    assert [(q.type, q.key) for q in r.questions] == [
        ("single_choice", 0),
        ("true_false", True),
        ("multiple_choice", [0, 1]),
    ]


def test_type_as_number_without_legend_is_refused_with_the_words():
    data = book({"Sheet1": [["题型", "题目", "选项A", "选项B", "答案"], ["0", "题？", "甲", "乙", "A"]]})
    r = parse_file(data, "x.xlsx")
    assert r.questions == [] and r.errors[0]["row"] == 2
    assert (
        "legend" in r.errors[0]["message"]
        and "单选" in r.errors[0]["message"]
        and "判断" in r.errors[0]["message"]
    )


@pytest.mark.parametrize("header", ["题型 0单选，1判断，2多选", "试题类型：1-单选 2-多选 3-判断"])
def test_legend_not_set_apart_is_refused_saying_how_to_write_it(header):
    # Not read (the header does not read as 题型 when the legend runs on after it), never guessed: the message
    # names the header and the two ways the legend is read.
    data = book({"Sheet1": [[header, "题目", "选项A", "选项B", "答案"], ["1", "题？", "甲", "乙", "A"]]})
    r = parse_file(data, "x.xlsx")
    assert r.questions == [] and len(r.errors) == 1
    assert header in r.errors[0]["message"] and "题型（0单选，1判断，2多选）" in r.errors[0]["message"]


def test_one_row_per_option():
    data = book(
        {
            "Sheet1": [
                ["题型", "题目", "选项内容", "是否正确项", "解析"],
                ["单选题", "安全色中表示禁止的是：", "", "", "红色表示禁止"],
                ["", "", "红色", 1, ""],
                ["", "", "黄色", 0, ""],
                ["", "", "蓝色", 0, ""],
                ["多选题", "三级安全教育包括：", "", "", ""],
                ["", "", "厂级", 1, ""],
                ["", "", "车间级", 1, ""],
                ["", "", "家庭级", 0, ""],
                ["", "", "班组级", 1, ""],
                ["判断题", "安全帽可以不系下颏带。", "", "", ""],
                ["", "", "正确", 0, ""],
                ["", "", "错误", 1, ""],
            ]
        }
    )
    r = parse_file(data, "per-option.xlsx")
    assert r.errors == []
    assert [(q.row, q.type, q.options, q.key) for q in r.questions] == [
        (2, "single_choice", ["红色", "黄色", "蓝色"], 0),
        (6, "multiple_choice", ["厂级", "车间级", "家庭级", "班组级"], [0, 1, 3]),
        (11, "true_false", [], False),
    ]


@pytest.mark.parametrize(
    "cell",
    [
        "A.检测 B.通风 C.作业",
        "A、检测 B、通风 C、作业",
        "A．检测\nB．通风\nC．作业",
        "检测\n通风\n作业",
        "A:检测%$%B:通风%$%C:作业",
        "检测%$%通风%$%作业",
        "(A)检测 (B)通风 (C)作业",
        "（A）检测（B）通风（C）作业",
    ],
)
def test_all_options_in_one_cell(cell):
    data = book({"Sheet1": [["题型", "题目", "选项", "答案"], ["单选", "有限空间作业第一步：", cell, "B"]]})
    r = parse_file(data, "x.xlsx")
    assert r.errors == [] and r.questions[0].options == ["检测", "通风", "作业"] and r.questions[0].key == 1


def test_custom_separator_column():
    data = book(
        {"Sheet1": [["题型", "题目", "选项", "分隔符", "答案"], ["单选", "题？", "甲##乙##丙", "##", "C"]]}
    )
    r = parse_file(data, "x.xlsx")
    assert r.errors == [] and r.questions[0].options == ["甲", "乙", "丙"]


def test_one_sheet_per_type():
    data = book(
        {
            "说明": [["本文件由某考试系统导出"]],
            "单选题": [["题目", "A", "B", "C", "答案"], ["动火前应：", "检测", "直接动火", "离开", "A"]],
            "多选题": [["题目", "A", "B", "C", "答案"], ["防护用品：", "安全帽", "安全带", "拖鞋", "AB"]],
            "判断题": [["题目", "答案"], ["可以酒后上岗。", "×"]],
            "填空题": [["题目", "答案"], ["安全电压不超过____伏。", "36|36V"]],
            "简答题": [["题目", "答案"], ["简述动火作业要求。", "办证、检测、监护"]],
        }
    )
    r = parse_file(data, "sheets.xlsx")
    assert r.errors == []
    assert [q.type for q in r.questions] == [
        "single_choice",
        "multiple_choice",
        "true_false",
        "fill_blank",
        "short_answer",
    ]
    assert r.questions[3].key == [["36", "36V"]]


def test_unreadable_header_says_what_is_readable():
    data = book({"Sheet1": [["序号", "内容", "结果"], ["1", "题？", "A"]]})
    with pytest.raises(ImportRefused) as exc:
        parse_file(data, "odd.xlsx")
    message = str(exc.value.message)
    assert "no question header found" in message and "正确选项" in message and "是否正确项" in message


def test_sheet_without_answer_column_names_the_layouts():
    data = book({"Sheet1": [["题型", "题目", "选项A", "选项B"], ["单选", "题？", "甲", "乙"]]})
    r = parse_file(data, "x.xlsx")
    assert r.questions == [] and "是否正确项" in r.errors[0]["message"]


def test_refused_header_is_shown_translated_in_the_preview(client, login_as, enterprise):
    from lms.core.db import db
    from quizzes import banks

    bank = banks.create_bank(enterprise.id, "预览题库")
    db.session.commit()
    login_as("trainer")
    data = book({"Sheet1": [["序号", "内容", "结果"], ["1", "题？", "A"]]})
    resp = client.post(
        f"/quizzes/banks/{bank.id}/import",
        data={"file": (io.BytesIO(data), "odd.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "未找到题目表头" in page and "是否正确项" in page


def test_csv_with_braces_in_a_cell_stays_a_sheet():
    text = "题型,题目,答案\n填空,公式 {=x} 中的x是____,变量\n"
    r = parse_file(text.encode("utf-8"), "bank.csv")
    assert r.format == "sheet" and r.errors == [] and r.questions[0].key == [["变量"]]
