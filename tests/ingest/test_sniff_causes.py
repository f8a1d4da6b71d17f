"""One small file per cause of a wrong dialect found on real files (issue 12)."""

from __future__ import annotations

import pytest

from aurora_stream.ingest.dialect import Dialect, sniff
from aurora_stream.ingest.parse import parse_chunk


def test_backtick_is_a_quote_candidate():
    d = sniff(b"a,b\n`x,1`,2\n`y,2`,3\n`z,3`,4\n")
    assert (d.delimiter, d.quotechar) == (",", "`")


def test_single_quote_seen_only_in_the_head_is_scored_on_every_sample():
    # '"' never occurs: it must not collect the plain samples' scores that "'" is denied
    text = "a,b\n" + "".join(f"'x,{i}',{i}\n" for i in range(50))
    text += "".join(f"{i},{i}\n" for i in range(20000))
    d = sniff(text.encode(), sample_bytes=4096)
    assert (d.delimiter, d.quotechar) == (",", "'")


def test_stray_quotes_without_quoting_are_not_taken_for_quoting():
    text = "a,b\n" + "".join(f"{i},v{i}\n" for i in range(40))
    text += '40,"open\n41,a\n42,b\n43,close"x\n' + "".join(f"{i},v{i}\n" for i in range(44, 100))
    d = sniff(text.encode())
    assert (d.delimiter, d.quotechar) == (",", "")  # no x0.9 penalty on "no quoting"


def test_backslash_escape_only_in_the_tail_sample_is_found():
    head = "".join(f'{i},"plain {i}"\n' for i in range(6000))
    tail = "".join(f'{i},"say \\"hi\\", ok"\n' for i in range(40))
    d = sniff(("id,text\n" + head + tail).encode(), sample_bytes=4096)
    assert (d.delimiter, d.quotechar, d.escapechar) == (",", '"', "\\")


def test_backslash_escape_without_any_quote_character():
    d = sniff(b"id,path\n1,a\\,b\n2,c\\,d\n3,e\\,f\n4,g\n")
    assert (d.delimiter, d.escapechar) == (",", "\\")


@pytest.mark.parametrize(("text", "delimiter"), [
    ("id|path|note\n" + "".join(f"{i}|/srv/app{i}/bin|see: item {i}\n" for i in range(30)), "|"),
    ("id|ref|note\n" + "".join(f"{i}|/api/v1/items/{i}|status: ok, fine\n" for i in range(30)),
     "|"),
    ("k\tv\n" + "".join(f"key{i}\tRe: msg {i}: x\n" for i in range(30)), "\t"),
    ("a;b;c\n" + "".join(f"{i};12:30:{i % 60:02d} start;/home/u{i}\n" for i in range(30)), ";"),
    ("a|b\n" + "".join(f"{i}|ratio {i}:{i + 1}:{i + 2}\n" for i in range(30)), "|"),
    ("a|b|c\n" + "".join(f"{i}|/a/b/{i}|/c/d\n" for i in range(30)), "|"),
    ("id|note\n" + "".join(f"{i}|東京：大阪、京都。 {i}\n" for i in range(30)), "|"),
])
def test_clean_cells_with_colon_slash_and_cjk_punctuation_keep_the_delimiter(text, delimiter):
    d = sniff(text.encode())
    assert (d.delimiter, d.has_header) == (delimiter, True)


def test_time_count_file_is_comma_with_header():
    rows = "".join(f"2015/01/{d + 1:02d} {h:02d}:00:00,{(d * 7 + h) % 13}\n"
                   for d in range(20) for h in range(24))
    d = sniff(("time,count\n" + rows).encode())
    assert (d.delimiter, d.has_header, d.skip_lines) == (",", True, 0)


def test_single_column_file_has_a_real_answer():
    d = sniff(b"url\nhttp://a.com/x y\nhttp://b.org/z w\nfoo bar: baz\nhttps://c.net/q\n")
    assert d.single_column
    assert d.delimiter == ","  # occurs nowhere: no value is split


def test_middle_samples_inside_one_huge_quoted_field_do_not_make_the_file_one_column():
    # every middle sample lands inside a 2 MB multi-line field: each of its lines reads as
    # one clean value; the head (a plain 3-column table) decides
    rows = "".join(f"{i},n{i % 7},short\n" for i in range(3000))
    field = ("y" * 999 + "\n") * 2000
    d = sniff(("id,name,note\n" + rows + f'3000,big,"{field}"\n' + rows).encode())
    assert (d.delimiter, d.quotechar, d.single_column, d.has_header) == (",", '"', False, True)


def test_valid_utf8_with_literal_replacement_characters_stays_utf8():
    d = sniff("name,v\nabc\ufffd,1\nx\ufffd\ufffd,2\ncafé,3\n".encode())
    assert d.encoding == "utf-8"


def test_polish_cp1250_and_iso_8859_2_are_not_forced_to_cp1252():
    text = ("miasto,ludność\nWrocław,640000\nGdańsk,470000\nŁódź,670000\nKraków,780000\n"
            "Poznań,530000\nŚląsk,1\nżółć,2\n")
    assert sniff(text.encode("cp1250")).encoding == "cp1250"
    assert sniff(text.encode("iso8859_2")).encoding == "iso8859-2"
    assert sniff("a,b\ncafé,1\nnaïve,2\n".encode("cp1252")).encoding == "cp1252"


def test_missing_markers_are_counted_as_missing_and_reported():
    text = "a,b\n1,NA\n2,?\n3,-\n4,null\n5,None\n6,\n7,N/A\n8,x\n"
    d = sniff(text.encode())
    assert {"NA", "N/A", "?", "-", "null", "None", ""} <= set(d.missing)
    parsed = parse_chunk(text.split("\n", 1)[1], d, 2, 2)
    assert parsed.frame.get_column("1").null_count() == 7
    assert parsed.rows_in == parsed.frame.height + len(parsed.rejected) == 8


def test_missing_markers_can_be_overridden_per_file():
    text = "a,b\n1,-\n2,999\n3,x\n"
    d = sniff(text.encode(), missing=("999",))
    assert d.missing == ("999",)
    col = parse_chunk(text.split("\n", 1)[1], d, 2, 2).frame.get_column("1")
    assert col.to_list() == ["-", None, "x"]
    assert Dialect.from_dict(d.to_dict()).missing == ("999",)


def test_missing_markers_from_the_environment(monkeypatch):
    monkeypatch.setenv("AURORA_MISSING_MARKERS", "n.a., 999")
    assert sniff(b"a,b\n1,n.a.\n2,NA\n").missing == ("n.a.", "999")


def test_sniff_json_reports_every_parse_decision(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from aurora_stream.cli.main import app

    monkeypatch.setenv("AURORA_MISSING_MARKERS", "NA")  # restored after the command sets it
    path = tmp_path / "x.csv"
    path.write_bytes(b"# exported\na;b\n1,5;n.a.\n2,5;x\n")
    result = CliRunner().invoke(app, ["sniff", str(path), "--json", "--missing", "n.a.,?"])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.output)
    assert obj["delimiter"] == ";" and obj["decimal"] == "," and obj["skip_lines"] == 1
    assert obj["comment"] == "#" and obj["single_column"] is False
    assert obj["missing"] == ["n.a.", "?"]


def test_backslash_n_null_markers_are_values_not_escapes():
    null = "\\N"
    rows = "".join(f"{i}|Hall {i}|City|{null if i % 3 else i * 10}\n" for i in range(60))
    d = sniff(("id|name|city|seats\n" + rows).encode())
    assert (d.delimiter, d.escapechar) == ("|", "")
    assert sniff(b"a,b,c\n" + b"1,\\n,1\n" * 20).escapechar == ""


def test_a_rare_quote_character_seen_only_as_a_value_loses_a_tie_to_no_quote():
    rows = "".join(f"{i}|x{i}|y\n" for i in range(300)) + "`|`|`\n" + "".join(
        f"{i}|x{i}|y\n" for i in range(300, 600))
    d = sniff(("a|b|c\n" + rows).encode())
    assert d.delimiter == "|" and d.quotechar in ('"', "")


def test_quotes_that_close_mid_value_are_not_taken_for_quoting():
    rows = "".join(f"tt{i:05d}\tmovie\tTitle {i}\t{1900 + i % 100}\n" for i in range(400))
    rows += 'tt99999\tmovie\t"Swing it" magistern\t1940\n'
    d = sniff(("tconst\ttype\ttitle\tyear\n" + rows).encode())
    assert (d.delimiter, d.quotechar) == ("\t", "")


@pytest.mark.parametrize("symbol", ["¦", "§", "🦆"])
def test_a_non_ascii_symbol_delimiter_is_found(symbol):
    rows = "".join(f"{i}{symbol}{i * 2}{symbol} item {i}\n" for i in range(100))
    d = sniff((f"a{symbol}b{symbol}c\n" + rows).encode())
    assert d.delimiter == symbol
