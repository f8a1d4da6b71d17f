"""Real CSV files shipped inside installed packages (river, scikit-learn, matplotlib): every
one is read whole, ``rows in = parsed + rejected`` holds and no record is lost, and the
sniffed dialect reads the rows the file's true dialect reads (bench/real_csv_truth.json)."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
from pathlib import Path

import pytest
from ingest_helpers import ingest

from aurora_stream.ingest.dialect import sniff

TRUTH = json.loads((Path(__file__).parents[2] / "bench" / "real_csv_truth.json").read_text())


def _files() -> list[tuple[str, Path]]:
    out = []
    for pkg in ("river", "sklearn", "matplotlib"):
        spec = importlib.util.find_spec(pkg)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        for fid in TRUTH:
            prefix = f"pypi:{pkg}/"
            if fid.startswith(prefix) and (root / fid[len(prefix):]).is_file():
                out.append((fid, root / fid[len(prefix):]))
    return out


FILES = _files()


def _bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def _rows(text: str, d: str, q: str, e: str) -> list[list[str]]:
    kw: dict = {"delimiter": d or "\x1f", "strict": False}
    kw.update({"quotechar": q} if q else {"quoting": csv.QUOTE_NONE})
    if e:
        kw["escapechar"] = e
    return [r for r in csv.reader(text.splitlines(), **kw) if r]


@pytest.mark.skipif(len(FILES) < 10, reason="the packages' data files are not installed")
@pytest.mark.parametrize(("fid", "path"), FILES, ids=[f for f, _ in FILES])
def test_real_package_file(fid: str, path: Path) -> None:
    truth = TRUTH[fid]
    data = _bytes(path)
    d = sniff(data)
    text = data.decode(truth["encoding"]).lstrip("\ufeff")
    want = _rows(text, truth["delimiter"], truth["quotechar"], truth["escapechar"])
    got = _rows(text, "" if d.single_column else d.delimiter, d.quotechar, d.escapechar)
    assert got == want, (fid, d)
    t = ingest(io.BytesIO(data), d)  # checks rows_in == parsed + rejected on every chunk
    assert t.rows_in == t.frame.height + len(t.rejected)
    assert t.rows_in + 1 + d.skip_lines >= len(want) - len(t.rejected) > 0
