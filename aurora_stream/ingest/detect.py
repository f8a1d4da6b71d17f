"""Score candidate CSV dialects on decoded text samples.

The score of a (delimiter, quote, escape) candidate is pattern x type, after
CleverCSV (van den Burg et al. 2019): rows should have one consistent width
(more than one field), and the cells it produces should look like clean values
(numbers, dates, words), not fragments such as ``5;2`` or ``12:30``. Unlike
CleverCSV, consistency is measured against the modal width, so a few ragged
rows do not hand the win to a wrong delimiter, and scores are summed over
several samples of the file.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from itertools import islice

MAX_ROWS = 200
PRIORITY = [",", ";", "\t", "|", "^", ":", "~", " "]
EXTRA = "#!&*/%$@+=_"
QUOTES = ['"', "'", "`", ""]
TIE_QUOTES = ['"', "", "'", "`"]  # on a tie: a rarer quote character needs evidence to win
SINGLE = ""  # the "one column" candidate's delimiter in score tables
SINGLE_WEIGHT = 0.7  # a one-column reading must clearly beat every split to win
LONG_WORDS = 10  # a cell of more words is a phrase: it neither helps nor hurts a candidate

_NUMBER = (
    r"[-+]?[$€£¥]?(\d+([.,]\d+)?|\d{1,3}([,. '\u00a0]\d{3})+([.,]\d+)?|[.,]\d+)"
    r"([eE][-+]?\d+)?%?"
)
_TIME = r"\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?( ?[AaPp][Mm])?(Z|[+-]\d{2}:?\d{2})?"
_DATE = r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
CLEAN = re.compile(
    "|".join(
        [
            r"",
            _NUMBER,
            _TIME,
            _DATE + rf"([ T]{_TIME})?",
            r"[\w#/(\[\u3000-\u30ff\uff00-\uffef][^\x00-\x1f,;|\t\"]*",
            r"(https?|ftp)://\S+",
            r"[\w.+-]+@[\w-]+(\.[\w-]+)+",
        ]
    )
)


def reader_kwargs(delimiter: str, quotechar: str, escapechar: str) -> dict:
    """Keyword arguments for ``csv.reader`` for one dialect ("" = none)."""
    kw: dict = {"delimiter": delimiter, "strict": False, "doublequote": True}
    if quotechar:
        kw["quotechar"] = quotechar
    else:
        kw["quoting"] = csv.QUOTE_NONE
    if escapechar:
        kw["escapechar"] = escapechar
    return kw


def parse_rows(text: str, delimiter: str, quotechar: str, escapechar: str,
               limit: int = MAX_ROWS) -> list[list[str]]:
    """Parse up to ``limit`` non-empty rows of ``text`` with the csv module."""
    try:
        rows = csv.reader(text.split("\n"), **reader_kwargs(delimiter, quotechar, escapechar))
        return [r for r in islice(rows, limit) if r]
    except csv.Error:
        return []


def swallowed_lines(text: str, delimiter: str, quotechar: str, escapechar: str,
                    limit: int = MAX_ROWS) -> tuple[int, int]:
    """(records, physical lines joined into another record) of the first ``limit`` records:
    lines a quoted field spans."""
    if not quotechar:
        return 0, 0
    reader = csv.reader(text.split("\n"), **reader_kwargs(delimiter, quotechar, escapechar))
    joined = records = 0
    try:
        while records < limit:
            start = reader.line_num
            next(reader)
            records += 1
            joined += reader.line_num - start - 1
    except (StopIteration, csv.Error):
        pass
    return records, joined


def quoting_is_real(text: str, d: str, q: str) -> bool:
    """A field opened by ``q`` right after a delimiter or line start, closed by ``q`` right
    before one, holds the delimiter or a newline (``1,"x, y"`` or ``1,"x\ny",2``): the
    quotes protect something, so the lines they join are records, not stray quotes."""
    qd, dd = re.escape(q), re.escape(d)
    pat = re.compile(rf"(?:^|{dd}){qd}([^{qd}]*){qd}(?={dd}|$)", re.MULTILINE)
    return any(d in m.group(1) or "\n" in m.group(1) for m in pat.finditer(text))


def _candidates(text: str) -> list[str]:
    lines = [ln for ln in text.split("\n")[:MAX_ROWS] if ln]
    if not lines:
        return [","]
    out = [d for d in PRIORITY if d in text]
    for ch in EXTRA:
        if sum(ch in ln for ln in lines) >= 0.8 * len(lines):
            out.append(ch)
    out += _symbol_candidates(lines)
    return out or [","]


def _symbol_candidates(lines: list[str], limit: int = 3) -> list[str]:
    """Non-ASCII symbols found on at least 80% of the lines the same number of times
    (a file delimited by "¦", "§" or an emoji): never letters, digits or spaces."""
    counts: Counter = Counter()
    for ch in set("".join(lines[:50])):
        if ord(ch) > 127 and not ch.isalnum() and not ch.isspace() and ch != "\ufffd":
            counts[ch] = sum(ch in ln for ln in lines)
    out = []
    for ch, n in counts.most_common():
        if n < 0.8 * len(lines) or len(out) >= limit:
            break
        per_line = Counter(ln.count(ch) for ln in lines if ch in ln)
        if per_line.most_common(1)[0][1] >= 0.8 * n:
            out.append(ch)
    return out


def pattern_score(rows: list[list[str]], width: int | None = None) -> float:
    """One consistent width > 1, rows of another width penalised quadratically. More
    columns earn nothing: a delimiter found inside values must not win by splitting more.
    ``width``: the number of columns when it is known (a chunk sent with its column
    names), measured against instead of the modal width."""
    if not rows:
        return 0.0
    counts = Counter(len(r) for r in rows)
    w, n = (width, counts.get(width, 0)) if width else counts.most_common(1)[0]
    if w < 2:
        return 0.0
    return (n / len(rows)) ** 2


def type_score(rows: list[list[str]], phrases_neutral: bool = True) -> float:
    """Fraction of cells that look like a clean value (long phrases are left out)."""
    cells = [c.strip() for r in rows for c in r]
    if phrases_neutral:
        cells = [c for c in cells if c.count(" ") < LONG_WORDS]
    if not cells:
        return 0.5
    return sum(_clean(c) for c in cells) / len(cells)


_FRAGMENT = re.compile(r"[-+]?\d*\.?\d+[eE]")  # "1.51e" of "1.51e+02" split on "+"


def _clean(cell: str) -> bool:
    return CLEAN.fullmatch(cell) is not None and _FRAGMENT.fullmatch(cell) is None


def quote_candidates(texts: list[str]) -> list[str]:
    """Quote characters that occur somewhere in the file's samples, then "none"."""
    found = [q for q in QUOTES if q and any(q in t for t in texts)]
    return (found or ['"']) + [""]  # no quote anywhere: '"' and none read the same


def escape_evidence(texts: list[str]) -> set[str]:
    """Characters seen right after a backslash anywhere (comment lines included)."""
    seen: set[str] = set()
    for t in texts:
        i = t.find("\\")
        while i >= 0 and len(seen) < 64:
            seen.add(t[i + 1: i + 2])
            i = t.find("\\", i + 2)
    return seen


def single_column_score(text: str, quotes: list[str], width: int | None = None) -> float:
    """Score of reading every line as one cell (no delimiter at all)."""
    if width and width != 1:
        return 0.0
    q = quotes[0] if quotes else ""
    rows = [r for r in parse_rows(text, "\x1f", q, "") if r]
    if not rows:
        return 0.0
    lines = [r[0].strip() for r in rows]
    return SINGLE_WEIGHT * sum(map(_one_value, lines)) / len(lines)


_NUMBER_RE = re.compile(_NUMBER)


def _one_value(line: str) -> bool:
    """A whole line that reads as one clean value: not a row of numbers aligned by spaces
    ("1950   1   23.11"), which is a space-delimited table."""
    if not _clean(line):
        return False
    tokens = line.split()
    if len(tokens) < 2:
        return True
    numbers = sum(_NUMBER_RE.fullmatch(t) is not None for t in tokens)
    return numbers < 0.5 * len(tokens)


def alignments(text: str, q: str) -> list[str]:
    """Readings of a sample cut mid-file: from its first whole line, and from the line after
    the first ``q`` (the sample may begin inside a quoted multi-line field, which inverts
    the quote parity of every line after it). The scorer keeps the better of the two."""
    k = text.find(q) if q else -1
    nl = text.find("\n", k) if k >= 0 else -1
    if nl < 0 or nl + 1 >= len(text):
        return [text]
    return [text, text[nl + 1:]]


def escape_mask(text: str, escapechar: str) -> str:
    """``text`` with every escaped character (and its escape) replaced by NULs, same length."""
    if not escapechar or escapechar not in text:
        return text
    return re.sub(re.escape(escapechar) + ".", "\x00\x00", text, flags=re.DOTALL)


def _score(t: str, d: str, q: str, e: str, escapes: set[str], width: int | None) -> float:
    """pattern x type of one candidate on one text (0 when no consistent width)."""
    rows = parse_rows(t, d, q, e)
    p = pattern_score(rows, width)
    if p <= 0:
        return 0.0
    bonus = 1.0
    if e:
        # an escape is only an escape when it protects something: the quote, the delimiter,
        # itself or a line end. "\N" (a NULL marker) or "\n" written out in a cell are values
        # the escape reading would only "clean" into N and n
        special = (q and q in escapes) or d in escapes
        if not (special or "\\" in escapes or "\n" in escapes):
            return 0.0
        bonus = 1.001 if special else 0.999  # before the quote or delimiter: it wins a tie
    records, joined = swallowed_lines(t, d, q, e)
    # each line a quoted field swallowed weighs like a ragged row: stray quotes that
    # merge records must not pass for quoting
    merged = 1.0
    if joined and not quoting_is_real(t, d, q):
        merged = (1.0 - joined / (records + joined)) ** 2
    return p * max(type_score(rows), 0.05) * bonus * merged * _well_formed(t, d, q, e)


def _well_formed(t: str, d: str, q: str, e: str) -> float:
    """A small tie-breaking penalty for fields opened by ``q`` that do not close right
    before a delimiter or a line end: ``"Swing it" magistern`` is a value holding quotes,
    not quoting, and the reading that strips them must not win on a near-tie. Only a
    tie-breaker: files quoted sloppily (``1;"pedro "pdet" holanda"``) still read best
    with their quotes when the other reading splits rows."""
    if not q or q not in t:
        return 1.0
    qd, dd = re.escape(q), re.escape(d)
    masked = escape_mask(t, e) if e else t
    start = rf"(?:^|(?<={dd}))"
    closed = re.compile(rf"{start}{qd}(?:[^{qd}]|{qd}{qd})*{qd}(?={dd}|\r?$)", re.MULTILINE)
    rest, good = closed.subn("", masked)
    bad = len(re.findall(rf"{start}{qd}", rest, re.MULTILINE))
    return 1.0 - 0.02 * bad / (good + bad) if bad else 1.0


def score_text(text: str, quotes: list[str] | None = None,
               escapes: set[str] | None = None, *, width: int | None = None,
               cut: bool = False) -> dict[tuple[str, str, str], float]:
    """Score every plausible (delimiter, quotechar, escapechar) on one decoded sample.

    ``quotes`` and ``escapes`` come from the whole file (every sample gets the same
    candidates, so sums over samples compare like with like); ``(SINGLE, q, "")`` is the
    one-column reading. ``width``: the known number of columns (a chunk of records sent
    with its column names); ``cut``: the sample starts mid-file (see ``alignments``)."""
    scores: dict[tuple[str, str, str], float] = {}
    if quotes is None:
        quotes = quote_candidates([text])
    if escapes is None:
        escapes = escape_evidence([text])
    for q in quotes:
        for e in ([""] + ["\\"] if escapes else [""]):
            for t in (alignments(text, q) if cut else [text]):
                for d in _candidates(t):
                    s = _score(t, d, q, e, escapes, width)
                    if s > scores.get((d, q, e), 0.0):
                        scores[(d, q, e)] = s
    scores[(SINGLE, quotes[0], "")] = single_column_score(text, quotes, width)
    return scores


def rank_key(item: tuple[tuple[str, str, str], float]) -> tuple:
    """Sort key: best score first, then the conventional delimiter/quote order."""
    (d, q, e), s = item
    if d == SINGLE:
        dpos = 10**6  # a split wins a tie
    else:
        dpos = PRIORITY.index(d) if d in PRIORITY else len(PRIORITY) + EXTRA.find(d)
    return (-round(s, 6), dpos, TIE_QUOTES.index(q), e != "")
