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
QUOTES = ['"', "'", ""]

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
            r"[\w#][\w '’.\-&()/+#@!?]*",
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


def _candidates(text: str) -> list[str]:
    lines = [ln for ln in text.split("\n")[:MAX_ROWS] if ln]
    if not lines:
        return [","]
    out = [d for d in PRIORITY if d in text]
    for ch in EXTRA:
        if sum(ch in ln for ln in lines) >= 0.8 * len(lines):
            out.append(ch)
    return out or [","]


def pattern_score(rows: list[list[str]]) -> float:
    """Reward one consistent width > 1; penalise rows of another width quadratically."""
    if not rows:
        return 0.0
    width, n = Counter(len(r) for r in rows).most_common(1)[0]
    if width < 2:
        return 0.0
    return (1.0 - 1.0 / width) * (n / len(rows)) ** 2


def type_score(rows: list[list[str]]) -> float:
    """Fraction of cells that look like a clean value."""
    cells = [c.strip() for r in rows for c in r]
    if not cells:
        return 0.0
    return sum(CLEAN.fullmatch(c) is not None for c in cells) / len(cells)


def score_text(text: str) -> dict[tuple[str, str, str], float]:
    """Score every plausible (delimiter, quotechar, escapechar) on one decoded sample."""
    scores: dict[tuple[str, str, str], float] = {}
    quotes = [q for q in QUOTES if not q or q in text] or [""]
    if '"' not in quotes:
        quotes.insert(0, '"')
    for d in _candidates(text):
        for q in quotes:
            escapes = [""]
            if q and "\\" + q in text:
                escapes.append("\\")
            for e in escapes:
                rows = parse_rows(text, d, q, e)
                p = pattern_score(rows)
                if p > 0:
                    bonus = 1.001 if e else 1.0  # backslash-quote seen: prefer it on a tie
                    if not q:
                        bonus = 0.9  # quote characters are present: quoting is the norm
                    scores[(d, q, e)] = p * max(type_score(rows), 0.05) * bonus
    return scores


def rank_key(item: tuple[tuple[str, str, str], float]) -> tuple:
    """Sort key: best score first, then the conventional delimiter/quote order."""
    (d, q, e), s = item
    dpos = PRIORITY.index(d) if d in PRIORITY else len(PRIORITY) + EXTRA.find(d)
    return (-round(s, 6), dpos, QUOTES.index(q), e != "")
