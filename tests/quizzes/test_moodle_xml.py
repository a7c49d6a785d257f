"""Moodle XML in and out, GIFT out, and round trips (export, import into a new bank) for every type."""

from __future__ import annotations

import pytest

from lms.core.errors import ImportRefused
from quizzes.importers import parse_file

MOODLE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category">
    <category><text>$course$/top/Default for 安全培训/用电安全</text></category>
  </question>
  <question type="multichoice">
    <name><text>触电急救</text></name>
    <questiontext format="html"><text><![CDATA[<p>发现有人<b>触电</b>时，首先应当：</p>]]></text></questiontext>
    <generalfeedback format="html"><text><![CDATA[<p>先断电。</p>]]></text></generalfeedback>
    <defaultgrade>2.0000000</defaultgrade>
    <single>true</single>
    <answer fraction="100" format="html"><text>切断电源</text><feedback format="html"><text>对</text></feedback></answer>
    <answer fraction="50" format="html"><text>用干木棒挑开电线</text><feedback format="html"><text>可以但不是首先</text></feedback></answer>
    <answer fraction="0" format="html"><text>用手拉开</text><feedback format="html"><text></text></feedback></answer>
  </question>
  <question type="multichoice">
    <name><text>防火措施</text></name>
    <questiontext format="plain_text"><text>以下哪些属于电气防火措施？</text></questiontext>
    <single>false</single>
    <answer fraction="50"><text>定期检查线路绝缘</text></answer>
    <answer fraction="50"><text>不超负荷用电</text></answer>
    <answer fraction="-100"><text>用铜丝代替保险丝</text></answer>
  </question>
  <question type="truefalse">
    <name><text>水扑救</text></name>
    <questiontext format="plain_text"><text>电气设备着火时可以直接用水扑救。</text></questiontext>
    <answer fraction="0"><text>true</text><feedback><text>会触电</text></feedback></answer>
    <answer fraction="100"><text>false</text><feedback><text>正确</text></feedback></answer>
  </question>
  <question type="shortanswer">
    <name><text>安全电压</text></name>
    <questiontext format="plain_text"><text>我国安全电压的最高额定值是多少伏？</text></questiontext>
    <usecase>0</usecase>
    <answer fraction="100"><text>42</text></answer>
    <answer fraction="50"><text>4*</text></answer>
  </question>
  <question type="numerical">
    <name><text>年份</text></name>
    <questiontext format="plain_text"><text>《安全生产法》首次施行于哪一年？</text></questiontext>
    <answer fraction="100"><text>2002</text><tolerance>0</tolerance></answer>
    <answer fraction="50"><text>2002</text><tolerance>1</tolerance></answer>
    <answer fraction="0"><text>*</text><tolerance>0</tolerance><feedback><text>再想想</text></feedback></answer>
  </question>
  <question type="matching">
    <name><text>灭火器</text></name>
    <questiontext format="plain_text"><text>把火灾类别与灭火器配对。</text></questiontext>
    <subquestion format="plain_text"><text>电气火灾</text><answer><text>二氧化碳</text></answer></subquestion>
    <subquestion format="plain_text"><text>油类火灾</text><answer><text>泡沫</text></answer></subquestion>
    <subquestion format="plain_text"><text></text><answer><text>水</text></answer></subquestion>
  </question>
  <question type="essay">
    <name><text>简述</text></name>
    <questiontext format="plain_text"><text>简述触电急救的步骤。</text></questiontext>
    <graderinfo format="plain_text"><text>断电、呼救、心肺复苏</text></graderinfo>
  </question>
  <question type="description">
    <name><text>说明</text></name>
    <questiontext format="plain_text"><text>以下为用电安全题。</text></questiontext>
  </question>
</quiz>
"""


def test_moodle_xml_import_every_type():
    r = parse_file(MOODLE_XML.encode(), "bank.xml")
    assert r.format == "moodle_xml" and r.errors == []
    line = MOODLE_XML.splitlines().index('  <question type="description">') + 1
    assert [n["row"] for n in r.notes] == [line] and "description" in r.notes[0]["message"]
    by_name = {q.name: q for q in r.questions}
    mc = by_name["触电急救"]
    assert (mc.type, mc.key, mc.weights, mc.points) == ("single_choice", 0, [1.0, 0.5, 0.0], 2)
    assert mc.text_format == "html" and mc.stem == "<p>发现有人<b>触电</b>时，首先应当：</p>"
    assert mc.feedback["options"][:2] == ["对", "可以但不是首先"] and mc.explanation == "<p>先断电。</p>"
    assert mc.category == "Default for 安全培训/用电安全"
    multi = by_name["防火措施"]
    assert (multi.type, multi.key, multi.weights) == ("multiple_choice", [0, 1], [0.5, 0.5, -1.0])
    tf = by_name["水扑救"]
    assert tf.key is False and tf.feedback == {"true": "会触电", "false": "正确"}
    sa = by_name["安全电压"]
    assert (sa.type, sa.key, sa.weights) == ("fill_blank", [["42", "4*"]], [[1.0, 0.5]])
    num = by_name["年份"]
    assert num.key == [
        {"value": 2002.0, "tolerance": 0.0, "fraction": 1.0},
        {"value": 2002.0, "tolerance": 1.0, "fraction": 0.5},
        {"value": None, "tolerance": 0.0, "fraction": 0.0},
    ]
    match = by_name["灭火器"]
    assert match.options == ["电气火灾", "油类火灾"]
    assert match.key == {"answers": ["二氧化碳", "泡沫"], "extra": ["水"]}
    essay = by_name["简述"]
    assert (essay.type, essay.key) == ("short_answer", "断电、呼救、心肺复苏")


@pytest.mark.parametrize(
    ("fragment", "words"),
    [
        (
            '<question type="cloze"><name><text>c</text></name><questiontext><text>{1:SA:=a}</text></questiontext></question>',
            "“cloze” is not supported",
        ),
        (
            '<question type="multichoice"><questiontext format="html"><text>x</text>'
            '<file name="a.png" encoding="base64">iVBORw0KGgo=</file></questiontext>'
            '<answer fraction="100"><text>a</text></answer><answer fraction="0"><text>b</text></answer></question>',
            "embedded file",
        ),
        (
            '<question type="shortanswer"><questiontext><text>x</text></questiontext><usecase>1</usecase>'
            '<answer fraction="100"><text>A</text></answer></question>',
            "case-sensitive",
        ),
        (
            '<question type="numerical"><questiontext><text>x</text></questiontext>'
            '<answer fraction="100"><text>5</text><tolerance>0</tolerance></answer>'
            "<units><unit><multiplier>1</multiplier><unit_name>m</unit_name></unit></units></question>",
            "units",
        ),
        # Moodle 1.9's picture beside the text (question/format/xml/format.php still reads <image> and
        # <image_base64> into the question text): a file, not imported.
        (
            '<question type="truefalse"><questiontext><text>This sign means stop.</text></questiontext>'
            "<image>stop.png</image><image_base64>iVBORw0KGgo=</image_base64>"
            '<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer>'
            "</question>",
            "<image>",
        ),
        # A picture linked from the Moodle site: the browser would have to fetch it from there; pages here load
        # pictures only from this site or data: URLs, so it would never show.
        (
            '<question type="truefalse"><questiontext format="html"><text><![CDATA[<p>This sign:'
            '<img src="https://moodle.example.com/pluginfile.php/9/question/questiontext/1/stop.png"></p>]]>'
            '</text></questiontext><answer fraction="100"><text>true</text></answer>'
            '<answer fraction="0"><text>false</text></answer></question>',
            "image linked from an address",
        ),
    ],
)
def test_moodle_xml_refusals_name_the_construct_and_line(fragment, words):
    text = '<?xml version="1.0"?>\n<quiz>\n' + fragment + "\n</quiz>\n"
    r = parse_file(text.encode(), "x.xml")
    assert r.questions == [] and len(r.errors) == 1
    assert words in r.errors[0]["message"] and r.errors[0]["row"] == 3 and "line 3" in r.errors[0]["message"]


def test_moodle_xml_blank_answer_is_dropped_as_moodle_saves_it():
    # A multichoice exported with an empty answer slot: Moodle's save_question_options skips an answer with no
    # text, no weight and no feedback.
    text = (
        '<?xml version="1.0"?>\n<quiz><question type="multichoice"><questiontext><text>Q</text></questiontext>'
        '<single>true</single><answer fraction="100"><text>a</text></answer><answer fraction="0"><text>b</text>'
        '</answer><answer fraction="0"><text></text><feedback><text></text></feedback></answer></question></quiz>'
    )
    r = parse_file(text.encode(), "blank.xml")
    assert r.errors == [] and (r.questions[0].options, r.questions[0].key) == (["a", "b"], 0)


def test_moodle_xml_picture_inside_the_text_is_kept():
    # A picture as a data: URL is part of the text (no file, no address): kept, sanitised, shown as it is.
    text = (
        '<?xml version="1.0"?>\n<quiz><question type="truefalse"><questiontext format="html"><text><![CDATA['
        '<p>This sign: <img src="data:image/png;base64,iVBORw0KGgo=" alt="stop" onerror="x()"></p>]]></text>'
        '</questiontext><answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false'
        "</text></answer></question></quiz>"
    )
    r = parse_file(text.encode(), "pic.xml")
    assert r.errors == [] and r.questions[0].stem == (
        '<p>This sign: <img src="data:image/png;base64,iVBORw0KGgo=" alt="stop"></p>'
    )  # fmt: skip


def test_moodle_xml_through_the_web_preview_and_commit(client, login_as, enterprise):
    # The same preview and all-or-nothing commit as every import: the preview lists each question with its
    # weights and the skipped description; a file with one refused question imports nothing.
    import io

    from lms.core.db import db
    from quizzes import banks
    from quizzes.models import Question

    bank = banks.create_bank(enterprise.id, "Moodle XML 题库")
    db.session.commit()
    login_as("trainer")

    def upload(data, name):
        resp = client.post(
            f"/quizzes/banks/{bank.id}/import",
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 302
        return resp.headers["Location"]

    preview = upload(MOODLE_XML.encode(), "moodle.xml")
    page = client.get(preview).get_data(as_text=True)
    assert "A (B 50%)" in page and "2002 ± 1 (50%)" in page and "A→二氧化碳" in page and "触电急救" in page
    assert "说明（不是题目）已跳过" in page
    # Each per-answer feedback beside its answer: an option letter, 正确/错误 of true/false, a numerical answer.
    assert "B: 可以但不是首先" in page and "正确: 会触电" in page and "*: 再想想" in page
    resp = client.post(preview + "/commit", follow_redirects=True)
    assert resp.status_code == 200
    assert db.session.query(Question).filter_by(bank_id=bank.id).count() == 7

    bad = MOODLE_XML.replace('<question type="essay">', '<question type="calculated">')
    preview = upload(bad.encode(), "bad.xml")
    page = client.get(preview).get_data(as_text=True)
    assert "calculated" in page and "Import now" not in page and "立即导入" not in page
    resp = client.post(preview + "/commit", follow_redirects=True)
    assert "未导入任何内容" in resp.get_data(as_text=True)
    assert db.session.query(Question).filter_by(bank_id=bank.id).count() == 7


def test_moodle_xml_hardened_parser_refuses_entities():
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE quiz [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
        '<quiz><question type="essay"><questiontext><text>&b;</text></questiontext></question></quiz>'
    )
    with pytest.raises(ImportRefused) as exc:
        parse_file(bomb.encode(), "bomb.xml")
    assert "forbidden" in str(exc.value.message)
    xxe = '<?xml version="1.0"?>\n<!DOCTYPE quiz [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<quiz>&x;</quiz>'
    with pytest.raises(ImportRefused):
        parse_file(xxe.encode(), "xxe.xml")


# ---------------------------------------------------------------- round trips


def _bank_of_every_type(enterprise_id):
    from quizzes import banks

    b = banks.create_bank(enterprise_id, "往返题库")
    make = banks.create_question
    make(
        b,
        type="single_choice",
        stem="首先应当：",
        options=["断电", "拉人", "呼救"],
        key=0,
        category="用电/急救",
        weights=[1.0, 0.0, 0.5],
        feedback={"options": ["对", "危险", "也可以"]},
        name="S1",
        explanation="先断电",
    )
    make(
        b, type="single_choice", stem="Grant is ____ in Grant's tomb.", options=["buried", "entombed"], key=1
    )
    make(
        b,
        type="multiple_choice",
        stem="防火措施有：",
        options=["检查绝缘", "不超负荷", "铜丝代保险丝"],
        key=[0, 1],
        weights=[0.5, 0.5, -1.0],
        category="用电",
    )
    make(
        b,
        type="multiple_choice",
        stem="灭火方法有：",
        options=["隔离", "窒息", "冷却", "浇油"],
        key=[0, 1, 2],
    )
    make(
        b,
        type="true_false",
        stem="可以用水扑救电气火灾。",
        key=False,
        feedback={"true": "会触电", "false": "对"},
    )
    make(
        b,
        type="fill_blank",
        stem="安全电压最高____伏。",
        key=[["42", "4*"]],
        weights=[[1.0, 0.5]],
        feedback={"answers": [["好", "接近"]]},
    )
    make(
        b,
        type="fill_blank",
        stem="Which is the best animal?",
        key=[["Frog", "Cat", "*"]],
        weights=[[1.0, 0.5, 0.0]],
    )
    make(
        b,
        type="numerical",
        stem="哪一年？",
        key=[
            {"value": 2002.0, "tolerance": 0.0, "fraction": 1.0},
            {"value": 2002.0, "tolerance": 1.5, "fraction": 0.5},
            {"value": None, "tolerance": 0.0, "fraction": 0.0},
        ],
        feedback={"answers": ["", "接近", "再想想"]},
    )
    make(
        b,
        type="matching",
        stem="配对：",
        options=["电气火灾", "油类火灾"],
        key={"answers": ["二氧化碳", "泡沫"], "extra": ["水"]},
        points=4,
    )
    make(b, type="short_answer", stem="简述步骤。", key="断电、呼救")
    make(b, type="single_choice", stem="<p>What is <b>bold</b>: a {brace} # and = sign?</p>",
         options=["<i>x</i> ~ y", "a: b"], key=0, text_format="html")  # fmt: skip
    return b


@pytest.mark.parametrize("kind", ["gift", "xml"])
def test_round_trip_every_type(app, enterprise, kind):
    from quizzes import banks, exchange

    src = _bank_of_every_type(enterprise.id)
    if kind == "gift":
        data, skipped = exchange.export_gift(src)
        data, name = data.encode(), "bank.gift.txt"
    else:
        data, skipped = exchange.export_moodle_xml(src)
        name = "bank.xml"
    assert skipped == []
    dest = banks.create_bank(enterprise.id, "往返导入")
    result = exchange.import_questions(dest, data, name, dry_run=False)
    assert result.errors == [] and result.committed and result.created == 11, result.errors

    def view(bank):
        from sqlalchemy import select

        from lms.core.db import db
        from quizzes.models import Question

        rows = db.session.scalars(select(Question).where(Question.bank_id == bank.id)).all()
        return sorted(
            (q.type, q.stem, tuple(q.options), repr(q.key), repr(q.weights), repr(q.feedback),
             q.explanation, q.category, q.text_format, q.name or "") for q in rows
        )  # fmt: skip

    # An all-or-nothing multiple choice has no Moodle form: it is written with Moodle's equal split (how Moodle
    # would grade it) and comes back weighted; every other question comes back as it was.
    split = [q for q in dest.questions if q.stem == "灭火方法有："][0]
    assert split.weights == [0.3333333, 0.3333333, 0.3333333, 0.0] and split.key == [0, 1, 2]
    # GIFT has no place for an essay's reference answer (Moodle's own exporter drops it too): Moodle XML keeps it.
    lost = "简述步骤。" if kind == "gift" else None
    assert [r for r in view(dest) if r[1] not in ("灭火方法有：", lost)] == [
        r for r in view(src) if r[1] not in ("灭火方法有：", lost)
    ]
    if lost:
        assert [q.key for q in dest.questions if q.stem == lost] == [""]
    again = exchange.import_questions(dest, data, name, dry_run=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 11)


def test_gift_export_text_is_moodles(app, enterprise):
    # giftformat_test::test_export_multichoice_multi_tricky / test_export_truefalse / test_export_numerical:
    # Moodle writes ~%100%, ~%-50%, {TRUE#wrong#right}, {#\n\t=%100%3:2#\n\t~#…}.
    from quizzes import banks, exchange

    b = banks.create_bank(enterprise.id, "导出")
    banks.create_question(b, type="multiple_choice", stem="Q?", options=["yellow", "red", "blue"], key=[0],
                             weights=[1.0, -0.5, -0.5], name="Q8")  # fmt: skip
    banks.create_question(b, type="true_false", stem="42 is the Absolute Answer to everything.", key=True,
                             feedback={"true": "You gave the right answer.", "false": "42 is the Ultimate Answer."},
                             name="Q1")  # fmt: skip
    banks.create_question(b, type="numerical", stem="What is a number from 1 to 5?", name="Q5",
                             key=[{"value": 3.0, "tolerance": 2.0, "fraction": 1.0},
                                  {"value": None, "tolerance": 0.0, "fraction": 0.0}],
                             feedback={"answers": ["", "Completely wrong"]})  # fmt: skip
    text, _ = exchange.export_gift(b)
    assert "::Q8::Q?{\n\t~%100%yellow\n\t~%-50%red\n\t~%-50%blue\n}" in text
    assert (
        "::Q1::42 is the Absolute Answer to everything.{TRUE#42 is the Ultimate Answer.#You gave the right answer.}"
        in text
    )
    assert "::Q5::What is a number from 1 to 5?{#\n\t=%100%3:2#\n\t~#Completely wrong\n}" in text


def test_fill_in_of_several_blanks_is_left_out_and_said(app, enterprise):
    from quizzes import banks, exchange

    b = banks.create_bank(enterprise.id, "多空")
    q = banks.create_question(
        b, type="fill_blank", stem="安全第一、____、综合____。", key=[["预防为主"], ["治理"]]
    )
    text, skipped = exchange.export_gift(b)
    assert skipped == [q] and "预防为主" not in text
    data, skipped = exchange.export_moodle_xml(b)
    assert skipped == [q]


def test_export_routes(client, login_as, enterprise):
    from lms.core.db import db

    b = _bank_of_every_type(enterprise.id)
    db.session.commit()
    login_as("trainer")
    gift = client.get(f"/quizzes/banks/{b.id}/export.gift.txt")
    assert gift.status_code == 200 and "::S1::" in gift.get_data(as_text=True)
    xml = client.get(f"/quizzes/banks/{b.id}/export.xml")
    assert xml.status_code == 200 and xml.data.startswith(b"<?xml") and b'type="matching"' in xml.data


def test_xlsx_round_trip_keeps_weights_matching_and_numerical(app, enterprise):
    from lms.core.exports import xlsx_bytes
    from quizzes import banks, exchange

    src = _bank_of_every_type(enterprise.id)
    headers, rows = exchange.export_rows(src)
    dest = banks.create_bank(enterprise.id, "表格往返")
    result = exchange.import_questions(dest, xlsx_bytes(headers, rows), "bank.xlsx", dry_run=False)
    assert result.errors == [] and result.created == 11

    def view(bank):
        return sorted(
            (q.type, q.stem, tuple(q.options), repr(q.key), repr(q.weights)) for q in bank.questions
        )

    # The spreadsheet holds no per-answer feedback or names; keys and weights come back.
    assert view(dest) == view(src)


def test_template_imports(app, enterprise):
    from lms.core.exports import xlsx_bytes
    from quizzes import exchange

    headers, rows = exchange.template_rows()
    r = parse_file(xlsx_bytes(headers, rows), "template.xlsx")
    assert r.errors == [] and {q.type for q in r.questions} >= {"matching", "numerical"}
    weighted = [q for q in r.questions if q.weights]
    assert weighted and weighted[0].weights == [1.0, 0.5, 0.0]


def test_moodle_xml_defaults_as_moodle_reads_them():
    # question/format/xml/format.php: the question text defaults to moodle_auto_format and answers/feedback to
    # the question's format; an old true/false file with localised answer words is read true first, then false;
    # an empty numerical answer is "*".
    text = """<?xml version="1.0"?>
<quiz>
<question type="truefalse"><name><text>旧</text></name><questiontext><text>旧文件的判断题</text></questiontext>
  <answer fraction="0"><text>对</text><feedback><text>不对</text></feedback></answer>
  <answer fraction="100"><text>错</text></answer></question>
<question type="numerical"><questiontext><text>多少？</text></questiontext>
  <answer fraction="100"><text>5</text><tolerance>0.5</tolerance></answer>
  <answer fraction="0"><text></text><feedback><text>再想想</text></feedback></answer>
  <units><unit><multiplier>1</multiplier><unit_name></unit_name></unit></units></question>
</quiz>"""
    r = parse_file(text.encode(), "old.xml")
    assert r.errors == []
    tf, num = r.questions
    assert tf.key is False and tf.text_format == "plain" and tf.feedback == {"true": "不对", "false": ""}
    assert (
        num.key[1] == {"value": None, "tolerance": 0.0, "fraction": 0.0}
        and num.feedback["answers"][1] == "再想想"
    )


def test_cli_dry_run_json_of_a_moodle_xml_file(app, enterprise, tmp_path):
    # lms import-questions … --dry-run --json on Moodle XML: each question with its line, type, stem, options,
    # key, weights, category and feedback; the skipped description as a note; nothing saved.
    import json

    from lms.core.db import db
    from quizzes.cli import import_questions_cmd
    from quizzes.models import Question

    db.session.commit()
    path = tmp_path / "moodle.xml"
    path.write_text(MOODLE_XML, encoding="utf-8")
    res = app.test_cli_runner().invoke(
        import_questions_cmd,
        [str(path), "--enterprise", enterprise.code, "--bank", "XML", "--dry-run", "--json"],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert (data["format"], data["created"], data["errors"], data["committed"]) == (
        "moodle_xml",
        7,
        [],
        False,
    )
    assert [n["row"] for n in data["notes"]] == [
        MOODLE_XML.splitlines().index('  <question type="description">') + 1
    ]
    first = data["questions"][0]
    assert {k: first[k] for k in ("row", "type", "key", "weights", "category", "name")} == {
        "row": MOODLE_XML.splitlines().index('  <question type="multichoice">') + 1,  # the line of <question>
        "type": "single_choice",
        "key": 0,
        "weights": [1.0, 0.5, 0.0],
        "category": "Default for 安全培训/用电安全",
        "name": "触电急救",
    }
    assert first["options"] == ["切断电源", "用干木棒挑开电线", "用手拉开"]
    assert first["feedback_items"] == [
        {"answer": "A", "feedback": "对"},
        {"answer": "B", "feedback": "可以但不是首先"},
    ]
    assert db.session.query(Question).count() == 0
