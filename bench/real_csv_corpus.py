"""Dialect detection on REAL files: ``aurora sniff`` next to CleverCSV, in one run.

The corpus is collected, never generated: CSV/TSV files shipped inside Python packages
(scikit-learn, river, matplotlib of the running interpreter; statsmodels and vega_datasets
wheels unpacked with ``--pkg-dir``) and files of public GitHub repositories mirrored as
bare git directories (``--mirror owner+name=/path/to/git``). Only the small annotation file
``bench/real_csv_truth.json`` is committed: one true dialect per file id
(encoding, delimiter, quotechar, escapechar; delimiter "" = one column).

How the truth was annotated (a limit of this corpus): files where aurora and CleverCSV
(whole file) gave parse-equal dialects were taken as annotated after spot checks of their
heads; every disagreement, every non-UTF-8 file and every non-table (README, binary .dat)
was looked at by hand (non-tables are left out). So a file both tools get wrong in the same
way can hide in it; the corpus is also mostly comma files (one semicolon, three tab files),
and 60-odd files come from one plotly folder of near-identical t-SNE exports.

"Parse-equal": the whole file decoded with the true encoding and read by ``csv.reader``
with the detected (delimiter, quote, escape) gives exactly the rows of the true dialect.
CleverCSV gets the text already decoded with the true encoding (it does not detect
encodings) and is run on the whole file and on its first 64 KiB; ``aurora`` reads the raw
bytes (its own encoding detection, samples spread over the file).

    python bench/real_csv_corpus.py --collect /tmp/corpus --pkg-dir /tmp/pkgs \\
        --mirror plotly+datasets=/work/.mirror/plotly+datasets/repo
    python bench/real_csv_corpus.py --corpus /tmp/corpus            # the table
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import importlib.util
import json
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from aurora_stream.ingest.dialect import sniff  # noqa: E402

TRUTH = Path(__file__).with_name("real_csv_truth.json")
EXTS = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".dat", ".txt")
MAX_BYTES = 1 << 20  # files above 1 MiB are left out (CleverCSV on a whole file is slow)
HEAD = 64 * 1024
csv.field_size_limit(1 << 30)


# --- collecting -------------------------------------------------------------------------

def _pkg_root(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec and spec.origin else None


def _files_under(root: Path, prefix: str) -> list[tuple[str, bytes]]:
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name.lower().endswith(EXTS) and "tests" not in p.parts:
            data = p.read_bytes()
            if p.name.endswith(".gz"):
                try:
                    data = gzip.decompress(data)
                except OSError:
                    continue
            if 0 < len(data) <= MAX_BYTES:
                out.append((f"{prefix}/{p.relative_to(root)}", data))
    return out


def _files_in_git(name: str, git_dir: str, limit: int) -> list[tuple[str, bytes]]:
    listing = subprocess.run(["git", "--git-dir", git_dir, "ls-tree", "-r", "-l", "HEAD"],
                             capture_output=True, text=True, check=True).stdout
    out = []
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        _, kind, sha, size = meta.split()
        if kind != "blob" or not size.isdigit() or not path.lower().endswith(EXTS[:2]):
            continue
        if 0 < int(size) <= MAX_BYTES:
            out.append((path, sha))
    out.sort(key=lambda x: hashlib.sha1(x[0].encode()).hexdigest())  # a fixed, spread subset
    got = []
    for path, sha in out[:limit]:
        done = subprocess.run(["git", "--git-dir", git_dir, "cat-file", "blob", sha],
                              capture_output=True)
        data = done.stdout
        if done.returncode == 0 and data and not data.startswith(b"version https://git-lfs"):
            got.append((f"github:{name}:{path}", data))
    return got


def collect(dest: Path, pkg_dirs: list[str], mirrors: list[str], per_repo: int) -> int:
    files: list[tuple[str, bytes]] = []
    for name in ("sklearn", "river", "matplotlib"):
        root = _pkg_root(name)
        if root:
            files += _files_under(root, f"pypi:{name}")
    for d in pkg_dirs:
        for sub in sorted(Path(d).iterdir()):
            if sub.is_dir() and not sub.name.endswith((".dist-info", ".egg-info")):
                files += _files_under(sub, f"pypi:{sub.name}")
    for m in mirrors:
        name, git_dir = m.split("=", 1)
        files += _files_in_git(name.replace("+", "/"), git_dir, per_repo)
    dest.mkdir(parents=True, exist_ok=True)
    index = {}
    for fid, data in files:
        fname = hashlib.sha1(fid.encode()).hexdigest()[:16] + ".bin"
        (dest / fname).write_bytes(data)
        index[fid] = fname
    (dest / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    return len(index)


# --- measuring --------------------------------------------------------------------------

def rows_of(text: str, delimiter: str, quotechar: str, escapechar: str) -> list[list[str]] | None:
    kw: dict = {"strict": False, "doublequote": True}
    kw["delimiter"] = delimiter or "\x1f"
    if quotechar:
        kw["quotechar"] = quotechar
    else:
        kw["quoting"] = csv.QUOTE_NONE
    if escapechar:
        kw["escapechar"] = escapechar
    try:
        return [r for r in csv.reader(text.splitlines(), **kw) if r]
    except (csv.Error, TypeError, ValueError):
        return None


def categories(truth: dict, data: bytes) -> list[str]:
    d = truth["delimiter"]
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space",
             "": "one-column"}
    cats = [names.get(d, "other-delimiter")]
    if truth["quotechar"] and truth.get("quoted", False):
        cats.append("quoted")
    if truth["escapechar"]:
        cats.append("escape")
    if len(data) > HEAD:
        cats.append("over-64KiB")
    if b"\r\n" in data[:HEAD]:
        cats.append("CRLF")
    if truth["encoding"] not in ("utf-8", "ascii"):
        cats.append("not-utf-8")
    return cats


def _clever(text: str):
    import clevercsv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            d = clevercsv.Detector().detect(text)
        except Exception:  # noqa: BLE001 - a crash counts as a miss
            return None
    if d is None:
        return None
    return d.delimiter or "", d.quotechar or "", d.escapechar or ""


def measure(corpus: Path, truth_file: Path, skip_clever: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    index = json.loads((corpus / "index.json").read_text())
    truths = json.loads(truth_file.read_text())
    hits: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    secs: dict[str, float] = defaultdict(float)
    misses: list[str] = []
    n = 0
    for fid, truth in sorted(truths.items()):
        if fid not in index:
            continue
        data = (corpus / index[fid]).read_bytes()
        text = data.decode(truth["encoding"], errors="replace").lstrip("\ufeff")
        want = rows_of(text, truth["delimiter"], truth["quotechar"], truth["escapechar"])
        n += 1
        t0 = time.perf_counter()
        try:
            ours = sniff(data)
            got = ("" if ours.single_column else ours.delimiter, ours.quotechar, ours.escapechar)
            enc_ok = _same_codec(ours.encoding, truth["encoding"])
        except Exception as exc:  # noqa: BLE001 - a crash counts as a miss
            got, enc_ok = None, False
            misses.append(f"aurora CRASH {fid}: {exc!r}")
        secs["aurora"] += time.perf_counter() - t0
        results = {"aurora": got}
        if not skip_clever:
            for name, sample in (("clevercsv", text), ("clevercsv-64k", text[:HEAD])):
                t0 = time.perf_counter()
                results[name] = _clever(sample)
                secs[name] += time.perf_counter() - t0
        for cat in ["ALL", *categories(truth, data)]:
            hits[cat]["encoding"][0] += enc_ok
            hits[cat]["encoding"][1] += 1
            for name, dia in results.items():
                ok = dia is not None and rows_of(text, *dia) == want
                hits[cat][name][0] += ok
                hits[cat][name][1] += 1
        for name, dia in results.items():
            if dia is None or rows_of(text, *dia) != want:
                misses.append(f"{name:14} {fid}: got {dia!r} want "
                              f"{(truth['delimiter'], truth['quotechar'], truth['escapechar'])!r}")
    table = Table(title=f"Parse-equal dialect on {n} real files (%, files)")
    table.add_column("category")
    names = ["aurora", *([] if skip_clever else ["clevercsv", "clevercsv-64k"])]
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("aurora encoding", justify="right")
    order = ["ALL", "comma", "semicolon", "tab", "pipe", "space", "other-delimiter",
             "one-column", "quoted", "escape", "over-64KiB", "CRLF", "not-utf-8"]
    for cat in order:
        if cat not in hits:
            continue
        h = hits[cat]
        cells = [f"{100 * h[x][0] / h[x][1]:.1f} ({h[x][0]}/{h[x][1]})" for x in names]
        e = h["encoding"]
        table.add_row(cat, *cells, f"{100 * e[0] / e[1]:.1f}")
    table.add_row("ms per file (in-process)",
                  *[f"{1000 * secs[x] / max(n, 1):.1f}" for x in names], "")
    console = Console(width=140)
    console.print(table)
    for m in misses:
        console.print(m, markup=False, highlight=False)


def _same_codec(a: str, b: str) -> bool:
    import codecs

    def norm(x: str) -> str:
        x = codecs.lookup(x).name
        return {"ascii": "utf-8", "utf-8-sig": "utf-8"}.get(x, x)

    return norm(a) == norm(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--collect", type=Path, help="collect the corpus into this directory")
    ap.add_argument("--pkg-dir", action="append", default=[],
                    help="a directory of unpacked wheels/sdists to take CSVs from")
    ap.add_argument("--mirror", action="append", default=[],
                    help="owner+name=/path/to/bare.git of a public repository")
    ap.add_argument("--per-repo", type=int, default=80, help="files taken per repository")
    ap.add_argument("--corpus", type=Path, help="measure the corpus in this directory")
    ap.add_argument("--truth", type=Path, default=TRUTH)
    ap.add_argument("--no-clevercsv", action="store_true")
    args = ap.parse_args()
    if args.collect:
        print(f"{collect(args.collect, args.pkg_dir, args.mirror, args.per_repo)} files "
              f"in {args.collect}")
    if args.corpus:
        measure(args.corpus, args.truth, args.no_clevercsv)


if __name__ == "__main__":
    main()
