"""Encodings are detected from samples of the whole file; bad bytes are reported by line."""

from __future__ import annotations

import pytest
from ingest_helpers import ingest

from aurora_stream.ingest.dialect import sniff

ROWS = [("1", "Zoë", "Müller"), ("2", "François", "Ñandú"), ("3", "Ærø", "Łódź")]


def _csv(rows, sep=","):
    return "id,first,last\n" + "".join(sep.join(r) + "\n" for r in rows)


@pytest.mark.parametrize(
    ("codec", "expected", "text_rows"),
    [
        ("utf-8", "utf-8", ROWS),
        ("utf-8-sig", "utf-8-sig", ROWS),
        ("utf-16-le-bom", "utf-16", ROWS),
        ("utf-16-be-bom", "utf-16", ROWS),
        ("cp1252", "cp1252", [("1", "café crème", "€5"), ("2", "naïve façade", "Zoë")] * 30),
        ("shift_jis", "shift_jis", [("1", "東京都", "渋谷区"), ("2", "大阪府", "日本語")] * 30),
        ("gb18030", "gb18030", [("1", "北京市", "中文字符测试"), ("2", "上海市", "数据科学")] * 30),
    ],
)
def test_encoding_detected_and_decoded(write, codec, expected, text_rows):
    text = _csv(text_rows)
    if codec.endswith("-bom"):
        base = codec[:-4]
        bom = b"\xff\xfe" if base.endswith("le") else b"\xfe\xff"
        data = bom + text.encode(base)
    else:
        data = text.encode(codec)
    t = ingest(write("f.csv", data))
    assert t.dialect.encoding == expected
    assert t.header == ["id", "first", "last"]
    assert t.rows() == [tuple(r) for r in text_rows]
    assert all(not c.decode_errors for c in t.chunks)


def test_non_ascii_only_near_the_end_is_found(write):
    body = "".join(f"{i},plain ascii value {i},{i * 3}\n" for i in range(4000))
    assert len(body) > 100_000
    tail = "".join(f"{i},café crème brûlée,{i}\n" for i in range(4000, 4010))
    data = ("id,name,n\n" + body + tail).encode("cp1252")
    path = write("late.csv", data)
    assert sniff(path).encoding == "cp1252"
    t = ingest(path)
    assert t.rows()[-1] == ("4009", "café crème brûlée", "4009")
    assert t.frame.height == 4010


def test_undecodable_bytes_reported_with_line_not_a_crash(write):
    good = "".join(f"{i},Zoë Ñandú café\n" for i in range(5, 10)).encode()
    data = b"id,name\n1,ok\n2,bad \xff\xfe byte\n3,fine\n4,also \xc3 bad\n" + good
    t = ingest(write("bad.csv", data))
    assert t.dialect.encoding == "utf-8"
    errors = [line for c in t.chunks for line in c.decode_errors]
    assert errors == [3, 5]
    assert t.frame.height == 9 and "\ufffd" in t.rows()[1][1]
    assert t.rows()[-1] == ("9", "Zoë Ñandú café")


def test_utf16_without_bom(write):
    data = "a,b\n1,é\n2,x\n".encode("utf-16-le")
    t = ingest(write("nobom.csv", data))
    assert t.dialect.encoding == "utf-16-le"
    assert t.rows() == [("1", "é"), ("2", "x")]
