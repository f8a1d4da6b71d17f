"""The CSV dialect of a source, and ``sniff`` that detects it from samples of the whole file."""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from aurora_stream.ingest.detect import (
    SINGLE,
    escape_evidence,
    parse_rows,
    quote_candidates,
    rank_key,
    reader_kwargs,
    score_text,
)
from aurora_stream.ingest.missing import DEFAULT_MISSING, markers
from aurora_stream.ingest.sampling import decode_sample, detect_encoding, read_samples


@dataclass(frozen=True)
class Dialect:
    """How to read one CSV source; ``""`` means "none" for the character fields."""

    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    escapechar: str = ""
    has_header: bool = True
    skip_lines: int = 0
    comment: str = ""
    decimal: str = "."
    thousands: str = ""
    single_column: bool = False
    missing: tuple[str, ...] = DEFAULT_MISSING  # cells read as missing (after strip)

    def to_dict(self) -> dict:
        """Plain dict of every field (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Dialect:
        """Build from a dict, ignoring unknown keys (forward compatible events)."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        why = _invalid(kw)
        if why is not None:  # an event's dialect is untrusted: refused with the reason,
            raise ValueError(f"invalid dialect: {why}")  # never a TypeError deep in csv
        # no list in the event: the configured markers (AURORA_MISSING_MARKERS or default)
        kw["missing"] = markers(kw["missing"] or ()) if "missing" in kw else markers()
        return cls(**kw)

    def sniff_json(self) -> dict:
        """The five fields the sniff event carries."""
        return {
            "delimiter": self.delimiter,
            "quotechar": self.quotechar,
            "escapechar": self.escapechar,
            "encoding": self.encoding,
            "has_header": self.has_header,
        }


_ONE_CHAR = ("delimiter",)  # exactly one character
_AT_MOST_ONE = ("quotechar", "escapechar", "decimal", "thousands")  # "" = none


def _invalid(kw: dict) -> str | None:
    """Why the fields of a dialect from outside (an event) cannot be read with, or None."""
    for name in ("encoding", "comment", *_ONE_CHAR, *_AT_MOST_ONE):
        if name in kw and not isinstance(kw[name], str):
            return f"{name} must be a string, not {type(kw[name]).__name__}"
    for name in ("has_header", "single_column"):
        if name in kw and not isinstance(kw[name], bool):
            return f"{name} must be true or false"
    if "skip_lines" in kw and (not isinstance(kw["skip_lines"], int)
                               or isinstance(kw["skip_lines"], bool) or kw["skip_lines"] < 0):
        return "skip_lines must be an integer >= 0"
    if "missing" in kw and not (kw["missing"] is None or (
            isinstance(kw["missing"], list | tuple)
            and all(isinstance(m, str) for m in kw["missing"]))):
        return "missing must be a list of strings"
    for name in _ONE_CHAR:
        if name in kw and len(kw[name]) != 1:
            return f"{name} must be one character, got {len(kw[name])}"
    for name in _AT_MOST_ONE:
        if name in kw and len(kw[name]) > 1:
            return f"{name} must be one character or empty, got {len(kw[name])}"
    chars = [kw.get(n, "") for n in ("delimiter", "quotechar", "escapechar")]
    if any(c in ("\n", "\r") for c in chars):
        return "delimiter, quotechar and escapechar cannot be line breaks"
    if chars[0] in chars[1:]:
        return "the delimiter cannot also be the quote or escape character"
    return None


_SEP_LINE = re.compile(r'\s*"?sep=(.)"?[,;\t]*\s*', re.IGNORECASE)
_COMMENTS = ("#", "//")
_NUMERIC = re.compile(r"[-+]?[$€£¥]?\d[\d,. '\u00a0]*([eE][-+]?\d+)?%?")
_DATEISH = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?")


def _preamble(head: str) -> tuple[int, str, str]:
    """Leading lines that are not the table: ``sep=`` line, comments, blanks."""
    lines = head.split("\n")
    i, sep, comment = 0, "", ""
    if lines and (m := _SEP_LINE.fullmatch(lines[0])):
        sep, i = m.group(1), 1
    while i < len(lines) - 1:
        line = lines[i]
        prefix = next((p for p in _COMMENTS if line.startswith(p)), "")
        if prefix:
            comment = prefix
        elif line.strip():
            break
        i += 1
    return i, sep, comment


_HEADER_DELIMITERS = (",", ";", "\t", "|")


def _open_field(head: str) -> str | None:
    r"""The delimiter of a file whose head sample is a header line, then a record with a
    quoted field that opens and does not close before the sample ends (the sample is cut).

    Such a field is longer than a sample: its text, newlines included, may fill every
    sample the sniffer reads, whose scores then describe the field's text (words between
    spaces), not the table. The header line, read before any quote opens, still shows the
    table's delimiter; ``None`` when the head is not like that.

    >>> _open_field('id,text,n\n1,"a long, long\ntext with ""quotes"" and')
    ','
    >>> _open_field('id,text,n\n1,"short",2\n2,"s",6') is None
    True
    """
    header, _, rest = head.partition("\n")
    if not rest or '"' in header:
        return None
    start = rest.find('"')
    if start < 0 or "\n" in rest[:start]:
        return None  # no quote in the first record
    if '"' in rest[start + 1:].replace('""', ""):
        return None  # the field closes inside the sample
    before = rest[:start]
    for d in _HEADER_DELIMITERS:
        if len(header.split(d)) >= 2 and (before == "" or before.endswith(d)):
            return d
    return None


def _records(text: str, d: str, q: str, e: str, limit: int = 200) -> list[tuple[int, list[str]]]:
    """(0-based line index, fields) of the first records, blank lines skipped."""
    out: list[tuple[int, list[str]]] = []
    reader = csv.reader(text.split("\n"), **reader_kwargs(d, q, e))
    try:
        while len(out) < limit:
            start = reader.line_num
            row = next(reader)
            if row:
                out.append((start, row))
    except (StopIteration, csv.Error):
        pass
    return out


def _table_start(records: list[tuple[int, list[str]]]) -> int:
    """Index of the first record after a preamble of narrow rows ("Report of ...", "Date:,x")."""
    if len(records) < 3:
        return 0
    width = Counter(len(r) for _, r in records).most_common(1)[0][0]
    i = 0
    while i < len(records) - 1 and len(records[i][1]) <= max(1, width // 2) < width:
        i += 1
    return i


def _kind(cell: str) -> str:
    c = cell.strip()
    if not c:
        return "empty"
    if _NUMERIC.fullmatch(c):
        return "number"
    if _DATEISH.fullmatch(c):
        return "date"
    return "text"


def _has_header(rows: list[list[str]]) -> bool:
    """Vote per column: a text cell above a numeric/date column means a header."""
    if len(rows) < 2:
        return True
    first, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    if not body:
        return True
    vote = 0.0
    for j, h in enumerate(first):
        col = [r[j] for r in body]
        kinds = Counter(k for k in map(_kind, col) if k != "empty")
        hk = _kind(h)
        if hk == "empty" or not kinds:
            continue
        major, count = kinds.most_common(1)[0]
        if major != "text" and count >= 0.7 * sum(kinds.values()):
            vote += 1.0 if hk == "text" else -1.0
            continue
        lengths = {len(c) for c in col if c.strip()}
        if h in col:
            vote -= 1.0
        elif len(lengths) == 1 and len(h) not in lengths:
            vote += 0.5
    return vote >= 0


def _number_format(cells: list[str]) -> tuple[str, str]:
    """Decimal and thousands separators seen in numeric-looking cells."""
    comma_dec = point_dec = th_point = th_comma = th_space = 0
    for raw in cells:
        c = raw.strip().lstrip("+-$€£¥").rstrip("%")
        if not c or not c[0].isdigit() or not _NUMERIC.fullmatch(c):
            continue
        if re.fullmatch(r"\d{1,3}(\.\d{3})+,\d+|\d+,(\d{1,2}|\d{4,})", c):
            comma_dec += 1
        if re.fullmatch(r"\d{1,3}(,\d{3})+\.\d+|\d+\.(\d{1,2}|\d{4,})", c):
            point_dec += 1
        if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", c):
            th_point += 1
        if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", c):
            th_comma += 1
        if re.fullmatch(r"\d{1,3}([ \u00a0]\d{3})+([.,]\d+)?", c):
            th_space += 1
    decimal = "," if comma_dec > point_dec else "."
    if decimal == ",":
        thousands = "." if th_point > th_space and th_point else (" " if th_space else "")
    else:
        thousands = "," if th_comma > th_space else (" " if th_space else "")
    return decimal, thousands


def _body_comment(texts: list[str], d: str, q: str, e: str, width: int) -> str:
    """"#" when '#'-lines inside the table do not have the table's width."""
    hits = [ln for t in texts for ln in t.split("\n") if ln.startswith("#")]
    if not hits:
        return ""
    odd = sum(len(r) != width for r in parse_rows("\n".join(hits), d, q, e, limit=len(hits)))
    return "#" if odd >= 0.5 * len(hits) else ""


def _head_single(head: dict) -> bool:
    """Whether the head sample itself reads best as one column. Middle samples can land
    inside one huge multi-line field (every line of it one clean value); only a head
    that is one column makes the file one column."""
    if not head:
        return True
    best = min(head.items(), key=rank_key)
    return best[0][0] == SINGLE or best[1] <= 0


def sniff(source: str | Path | bytes, *, sample_bytes: int = 64 * 1024,
          missing: tuple[str, ...] | list[str] | None = None,
          columns: int | None = None) -> Dialect:
    """Detect encoding and dialect from samples spread over the whole file (never reads it all).

    Samples: head, four middle offsets and the tail of a plain file (a compressed one is
    streamed and thinned). The encoding is found on the non-ASCII lines of every sample;
    the dialect by summing candidate scores over the samples (the head counts double).
    ``columns``: the source is records only (a later chunk sent with its column names):
    no preamble and no header are looked for, and candidates are measured against that
    width, so a chunk reads as the whole file would.
    Raises ``SourceError`` when the source cannot be opened or decompressed.
    """
    samples = read_samples(source, sample_bytes)
    encoding, sample_codec = detect_encoding(samples)
    texts = [decode_sample(s, sample_codec) for s in samples]
    skip, sep, comment = _preamble(texts[0]) if columns is None else (0, "", "")
    texts[0] = "\n".join(texts[0].split("\n")[skip:])
    prefix = comment or "#"
    scored = ["\n".join(ln for ln in t.split("\n") if not ln.startswith(prefix)) for t in texts]
    quotes = quote_candidates(scored)
    escapes = escape_evidence(texts)  # comment lines too: an escape may show only there
    totals: Counter = Counter()
    head: dict = {}
    for i, text in enumerate(scored):
        scores = score_text(text, quotes, escapes, width=columns, cut=samples[i].cut_start)
        head = head or scores
        for key, value in scores.items():
            if not sep or key[0] == sep:
                totals[key] += value * (2.0 if i == 0 else 1.0)
    if not _head_single(head):  # the head reads as a table: later samples cannot make the
        totals = Counter({k: v for k, v in totals.items() if k[0] != SINGLE})  # file one column
    open_field = _open_field(scored[0]) if samples[0].cut_end and columns is None else None
    if open_field and not sep and '"' in quotes:  # every sample may lie inside that field
        totals = Counter({(open_field, '"', ""): 1.0})
    if totals and max(totals.values()) > 0:
        d, q, e = min(totals.items(), key=rank_key)[0]
    else:
        d, q, e = (sep or ","), quotes[0], ""
    single = d == SINGLE
    if single:  # one column: a delimiter that occurs nowhere, so no value is ever split
        d = next((c for c in (",", "\t", ";", "|", "\x1f") if not any(c in t for t in texts)),
                 "\x1f")
    records = _records(scored[0], d, q, e)
    start = _table_start(records) if columns is None else 0
    if start and records:
        skip += records[start][0]
        records = records[start:]
    rows = [r for _, r in records]
    width = Counter(len(r) for r in rows).most_common(1)[0][0] if rows else 1
    comment = comment or _body_comment(texts, d, q, e, columns or width)
    cells = [c for t in scored for r in parse_rows(t, d, q, e) for c in r][:5000]
    decimal, thousands = _number_format(cells)
    return Dialect(
        encoding=encoding,
        delimiter=d,
        quotechar=q,
        escapechar=e,
        has_header=_has_header(rows[:100]) if columns is None else False,
        skip_lines=skip,
        comment=comment,
        decimal=decimal,
        thousands=thousands,
        single_column=single,
        missing=markers(missing),
    )
