"""Parse-equal dialect accuracy on a directory of real CSV files: aurora's sniffer (this
checkout, and optionally another checkout such as main's) next to CleverCSV, whole file
and first 64 KiB, per category.

    python bench/sniff_corpus.py DIR ANNOTATIONS.json [--other /work/main] [--split held-out]
    python bench/sniff_corpus.py DIR --propose OUT.json   # predictions, to annotate from

ANNOTATIONS maps a file name to its true dialect: ``delimiter``, ``quotechar``,
``escapechar`` (``""`` = none) and ``encoding``; ``"skip": true`` leaves a file out (not a
table). A detected dialect is *parse-equal* when the file, decoded with the true encoding and
read by the csv module with it, gives exactly the rows the true dialect gives. Encoding is
right when the detected codec decodes the file's bytes to the same text as the true one.

Categories come from the truth and the bytes: quote (a quote character used), escape,
delimiter (every file) and pipe, >64KB, CRLF, single column, encoding (non-ASCII bytes).
``--split`` keeps the files whose name hashes to that half (tuning / held-out), so a half
never looked at while tuning can be reported as held out.

The corpus used for the figures in the notes: 481 files from public repositories
(duckdb/duckdb ``data/csv``, frictionlessdata/frictionless-py ``data``, wireservice/csvkit,
okfn/messytables, tidyverse/readr, wireservice/agate, alan-turing-institute/CleverCSV,
max-mapper/csv-spectrum); ``bench/sniff_corpus/manifest.tsv`` names each file's repository
and path (the files themselves are not committed), ``truth.json`` holds the annotations and
``ANNOTATION.md`` says how they were made and what the corpus lacks.

Other checkouts are imported in a child process with bytecode writing off, so a read-only
checkout stays untouched. Nothing here is used by the service.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

HEAD = 64 * 1024
CATEGORIES = ["all", "quote", "escape", "delimiter", "pipe", ">64KB", "CRLF", "single column",
              "encoding"]
csv.field_size_limit(2**31 - 1)


def split_of(name: str) -> str:
    """'tuning' or 'held-out', fixed by the file name's hash."""
    return "held-out" if hashlib.sha1(name.encode()).digest()[0] & 1 else "tuning"


def rows_of(text: str, d: str, q: str, e: str) -> list[list[str]] | None:
    """All rows of ``text`` under one dialect (None when the csv module refuses it)."""
    kw: dict = {"delimiter": d if len(d) == 1 else "\x1f", "strict": False}
    if q:
        kw["quotechar"] = q
    else:
        kw["quoting"] = csv.QUOTE_NONE
    if e:
        kw["escapechar"] = e
    try:
        return [r for r in csv.reader(io.StringIO(text, newline=""), **kw) if r]
    except (csv.Error, TypeError):
        return None


def _decode(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return data.decode(codec if _known(codec) else "utf-8", errors="replace")


def _known(codec: str) -> bool:
    import codecs

    try:
        codecs.lookup(codec)
    except LookupError:
        return False
    return True


def same_text(data: bytes, a: str, b: str) -> bool:
    """Whether codecs ``a`` and ``b`` decode ``data`` to the same text (BOM ignored)."""
    if not (_known(a) and _known(b)):
        return False
    return _decode(data, a).lstrip("\ufeff") == _decode(data, b).lstrip("\ufeff")


# --- detectors -------------------------------------------------------------------------

_CHILD = r"""
import json, sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
from aurora_stream.ingest.dialect import sniff
out = {}
for path in json.load(sys.stdin):
    for where, limit in (("whole", None), ("64KiB", 65536)):
        data = open(path, "rb").read()
        t = time.perf_counter()
        try:
            d = sniff(data if limit is None else data[:limit])
            out.setdefault(path, {})[where] = {
                "delimiter": d.delimiter, "quotechar": d.quotechar,
                "escapechar": d.escapechar, "encoding": d.encoding,
                "seconds": time.perf_counter() - t}
        except Exception as exc:
            out.setdefault(path, {})[where] = {"error": repr(exc)}
print(json.dumps(out))
"""


def aurora(checkout: Path, paths: list[Path]) -> dict:
    """aurora's sniff from ``checkout`` on every file (whole file, first 64 KiB)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("AURORA_MISSING_MARKERS", None)
    done = subprocess.run([sys.executable, "-c", _CHILD, str(checkout)],
                          input=json.dumps([str(p) for p in paths]), capture_output=True,
                          text=True, env=env, check=True, cwd="/")
    return json.loads(done.stdout)


def clevercsv_detect(paths: list[Path]) -> dict:
    """CleverCSV's detector on the whole text and on its first 64 KiB (its own encoding guess)."""
    import clevercsv
    from clevercsv.encoding import get_encoding

    out: dict = {}
    for path in paths:
        try:
            enc = get_encoding(str(path)) or "utf-8"
        except Exception:
            enc = "utf-8"
        text = _decode(path.read_bytes(), enc)
        for where, chars in (("whole", None), ("64KiB", HEAD)):
            t = time.perf_counter()
            try:
                d = clevercsv.Detector().detect(text if chars is None else text[:chars])
                got = {"delimiter": d.delimiter, "quotechar": d.quotechar,
                       "escapechar": d.escapechar, "encoding": enc} if d else {"error": "none"}
            except Exception as exc:
                got = {"error": repr(exc)}
            got["seconds"] = time.perf_counter() - t
            out.setdefault(str(path), {})[where] = got
    return out


# --- scoring ---------------------------------------------------------------------------


def categories(data: bytes, truth: dict) -> list[str]:
    """The categories of issue 12 this file belongs to."""
    text = _decode(data, truth.get("encoding", "utf-8"))
    cats = ["all", "delimiter"]
    q = truth.get("quotechar", "")
    if q and q in text:
        cats.append("quote")
    if truth.get("escapechar"):
        cats.append("escape")
    if truth.get("delimiter") == "|":
        cats.append("pipe")
    if len(data) > HEAD:
        cats.append(">64KB")
    if b"\r\n" in data:
        cats.append("CRLF")
    rows = rows_of(text, truth["delimiter"], q, truth.get("escapechar", "")) or []
    if truth.get("single_column") or (rows and max(map(len, rows)) == 1):
        cats.append("single column")
    if not data.isascii():
        cats.append("encoding")
    return cats


def parse_equal(data: bytes, truth: dict, got: dict) -> bool:
    """The detected dialect reads the file to the rows of the true one."""
    if "error" in got:
        return False
    text = _decode(data, truth.get("encoding", "utf-8"))
    want = rows_of(text, truth["delimiter"], truth.get("quotechar", ""),
                   truth.get("escapechar", ""))
    return want is not None and want == rows_of(text, got["delimiter"], got["quotechar"],
                                                 got["escapechar"])


def table(results: dict, files: dict[str, bytes], truth: dict) -> str:
    """Markdown table: parse-equal share per category and detector."""
    detectors = list(results)
    hits: dict = defaultdict(lambda: defaultdict(int))
    counts: dict = defaultdict(int)
    enc_hits: dict = defaultdict(int)
    for name, data in files.items():
        t = truth[name]
        cats = categories(data, t)
        for c in cats:
            counts[c] += 1
        for det in detectors:
            got = results[det].get(name, {})
            if parse_equal(data, t, got):
                for c in cats:
                    hits[det][c] += 1
            if "error" not in got and same_text(data, got.get("encoding", ""),
                                                t.get("encoding", "utf-8")):
                enc_hits[det] += 1
    head = "| category | files | " + " | ".join(detectors) + " |"
    lines = [head, "|" + "---|" * (len(detectors) + 2)]
    for c in CATEGORIES:
        if counts[c]:
            cells = [f"{100 * hits[d][c] / counts[c]:.1f}% ({hits[d][c]})" for d in detectors]
            lines.append(f"| {c} | {counts[c]} | " + " | ".join(cells) + " |")
    n = len(files)
    lines.append(f"| encoding right (all files) | {n} | " + " | ".join(
        f"{100 * enc_hits[d] / n:.1f}%" for d in detectors) + " |")
    return "\n".join(lines)


def _cached_clevercsv(paths: list[Path], cache: Path | None) -> dict:
    """CleverCSV's predictions, from ``cache`` when it holds them for these exact files
    (keyed by content hash and CleverCSV version: it takes minutes on this corpus and
    its answers do not change between runs of aurora's sniffer)."""
    import clevercsv

    def key(p: Path) -> str:
        return f"{clevercsv.__version__}:{hashlib.sha1(p.read_bytes()).hexdigest()}"

    known = json.loads(cache.read_text()) if cache and cache.exists() else {}
    todo = [p for p in paths if key(p) not in known]
    fresh = clevercsv_detect(todo) if todo else {}
    for p in todo:
        known[key(p)] = fresh[str(p)]
    if cache and todo:
        cache.write_text(json.dumps(known))
    return {str(p): known[key(p)] for p in paths}


def run(directory: Path, others: list[Path],
        cache: Path | None = None) -> tuple[dict, list[Path]]:
    """Predictions of every detector on every file of ``directory``."""
    paths = sorted(p for p in directory.iterdir() if p.is_file())
    here = Path(__file__).resolve().parents[1]
    results: dict = {}
    by_path = {"branch": aurora(here, paths)}
    for other in others:
        by_path[other.name or str(other)] = aurora(other, paths)
    by_path["clevercsv"] = _cached_clevercsv(paths, cache)
    for det, res in by_path.items():
        for where in ("whole", "64KiB"):
            key = f"{det} {where}"
            results[key] = {Path(p).name: r[where] for p, r in res.items()}
    return results, paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("directory", type=Path)
    ap.add_argument("annotations", type=Path, nargs="?")
    ap.add_argument("--other", type=Path, action="append", default=[],
                    help="another checkout whose sniffer to compare (e.g. /work/main)")
    ap.add_argument("--split", choices=["tuning", "held-out", "all"], default="all")
    ap.add_argument("--propose", type=Path, help="write every prediction here and stop")
    ap.add_argument("--clevercsv-cache", type=Path,
                    help="keep CleverCSV's predictions here between runs (minutes each)")
    ap.add_argument("--save", type=Path, help="also write every prediction here")
    args = ap.parse_args()
    results, paths = run(args.directory, args.other, args.clevercsv_cache)
    if args.save:
        args.save.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    if args.propose:
        args.propose.write_text(json.dumps(results, indent=1, ensure_ascii=False))
        return
    truth = json.loads(args.annotations.read_text())
    files = {p.name: p.read_bytes() for p in paths if p.name in truth
             and not truth[p.name].get("skip")
             and (args.split == "all" or split_of(p.name) == args.split)}
    print(f"{len(files)} files ({args.split}); parse-equal dialect, % (files)")
    print(table(results, files, truth))
    for det, res in results.items():
        secs = [r.get("seconds", 0.0) for n, r in res.items() if n in files]
        if secs:
            print(f"{det}: {1000 * sum(secs) / len(secs):.1f} ms/file mean, "
                  f"max {max(secs):.2f} s")


if __name__ == "__main__":
    main()
