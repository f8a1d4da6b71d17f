"""Compressed sources (.gz .bz2 .zip .zst) by magic bytes, and stdin ("-")."""

from __future__ import annotations

import bz2
import gzip
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import zstandard
from ingest_helpers import ingest

from aurora_stream.ingest import source
from aurora_stream.ingest.dialect import sniff
from aurora_stream.ingest.source import SourceError, open_source

CSV = "".join(f"{i};name {i};{i * 0.5}\n" for i in range(2000))
DATA = ("id;name;x\n" + CSV).encode()


def _zip(data: bytes, members: int = 1) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(members):
            zf.writestr(f"part{i}.csv", data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "pack"),
    [
        ("f.csv.gz", gzip.compress),
        ("f.csv.bz2", bz2.compress),
        ("f.zip", _zip),
        ("f.csv.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
        ("misnamed.csv", gzip.compress),  # magic bytes win over the extension
    ],
)
def test_compressed_sources(write, name, pack):
    t = ingest(write(name, pack(DATA)), chunk_bytes=4096)
    assert t.dialect.delimiter == ";"
    assert t.header == ["id", "name", "x"]
    assert t.frame.height == 2000 and t.rows()[-1] == ("1999", "name 1999", "999.5")
    assert len(t.chunks) > 1


def test_zip_with_two_members_is_a_clear_error(write):
    with pytest.raises(SourceError, match="exactly one file"):
        open_source(write("two.zip", _zip(DATA, members=2)))


def test_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(SourceError, match="cannot open"):
        open_source(tmp_path / "absent.csv")


def test_stdin_dash():
    code = (
        "import sys\n"
        "from aurora_stream.ingest.dialect import sniff\n"
        "from aurora_stream.ingest.chunker import read_table\n"
        "from aurora_stream.ingest.parse import parse_chunk\n"
        "from aurora_stream.ingest.source import open_source, prepend\n"
        "stream = open_source('-')\n"
        "head = stream.read(65536)\n"
        "d = sniff(head)\n"
        "header, chunks = read_table(prepend(head, stream), d, chunk_bytes=2048)\n"
        "print(len(header), sum(parse_chunk(c.text, d, len(header), c.first_line).frame.height"
        " for c in chunks))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], input=gzip.compress(DATA),
                         capture_output=True, cwd=root, check=True, timeout=60)
    assert out.stdout.split() == [b"3", b"2000"]


@pytest.mark.parametrize("pack", [gzip.compress, bz2.compress,
                                  lambda b: zstandard.ZstdCompressor().compress(b)],
                         ids=["gz", "bz2", "zst"])
def test_a_decompression_bomb_is_refused_after_bounded_work(tmp_path, monkeypatch, pack):
    monkeypatch.setattr(source, "RATIO_AFTER", 1 << 20)  # judge the ratio after 1 MiB
    bomb = tmp_path / "bomb.csv.x"
    bomb.write_bytes(pack(b"a,b\n" + b"0" * (40 << 20)))  # 40 MiB of one digit: ~1000x
    with pytest.raises(SourceError, match="decompression bomb"):
        sniff(bomb)
    with pytest.raises(SourceError, match="decompression bomb"), open_source(bomb) as s:
        while s.read(1 << 20):
            pass


def test_a_zip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "RATIO_AFTER", 1 << 20)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("data.csv", b"a,b\n" + b"0" * (40 << 20))
    with pytest.raises(SourceError, match="decompression bomb"), open_source(bomb) as s:
        while s.read(1 << 20):
            pass


def test_the_size_limit_refuses_what_expands_beyond_it(tmp_path, monkeypatch):
    monkeypatch.setenv("AURORA_MAX_DECOMPRESSED_BYTES", str(1 << 20))
    big = tmp_path / "big.csv.gz"
    big.write_bytes(gzip.compress(b"".join(b"%d,%d\n" % (i, i * 7) for i in range(300_000))))
    with pytest.raises(SourceError, match="AURORA_MAX_DECOMPRESSED_BYTES"), \
            open_source(big) as s:
        while s.read(1 << 16):
            pass


def test_ordinary_compressed_csv_reads_whole_under_the_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "RATIO_AFTER", 1 << 20)
    rows = b"".join(b"%d,item %d,%d.5\n" % (i, i % 97, i * 3) for i in range(200_000))
    path = tmp_path / "ok.csv.gz"
    path.write_bytes(gzip.compress(b"id,name,price\n" + rows))
    with open_source(path) as s:
        assert s.read() == b"id,name,price\n" + rows
