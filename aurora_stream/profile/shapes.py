"""Value shapes as vectorized polars expressions: what a cell *looks like*, never what it is.

Every function here takes the expression of one Utf8 column and returns expressions that
polars evaluates in one pass per chunk (the callers put them all in a single lazy
``select`` so that common sub-expressions such as the stripped string are computed once).
Regexes use the Rust ``regex`` syntax (no look-around, no back-references).
"""

from __future__ import annotations

import numpy as np
import polars as pl

# --- building blocks -----------------------------------------------------------------
_PLAIN_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_THOUSANDS_NUM = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
_AMOUNT = r"(?:\d{1,3}(?:[,.\s]\d{3})+|\d+)(?:[.,]\d+)?|\.\d+"
_TIME = (
    r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[ap]\.?m\.?)?"
    r"(?:\s*(?:z|utc|gmt|[+-]\d{2}:?\d{2}))?"
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_ORD = r"(?:st|nd|rd|th)?"
_TAIL_TIME = rf"(?:(?:[t\s]|,\s*){_TIME})?"
_CURRENCY_SIGN = r"(?:us\$|a\$|c\$|r\$|[$€£¥₹₩₽])"
_CURRENCY_CODE = r"(?:usd|eur|gbp|jpy|cny|rmb|inr|cad|aud|chf|sek|nok|dkk|brl|mxn|zar)"

NUMERIC_RE = rf"^(?:{_PLAIN_NUM}|{_THOUSANDS_NUM})$"
INT_RE = r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)$"
BOOL_RE = r"(?i)^(?:true|false|yes|no|y|n|t|f)$"
DATE_RE = "(?i)^(?:" + "|".join(
    [
        # ISO and year-first: 2020-01-05, 2020/1/5, 2020-01-05T10:20:30Z
        rf"\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}{_TAIL_TIME}",
        # year-month: 2020-01
        r"\d{4}-(?:0[1-9]|1[0-2])",
        # day-first or month-first: 05/01/2020, 5.1.20, 1-5-2020 10:00
        rf"\d{{1,2}}[-/.]\d{{1,2}}[-/.](?:\d{{4}}|\d{{2}}){_TAIL_TIME}",
        # month names: Jan 5 2020, Monday, January 5th, 2020, 5 Jan 2020, 05-Jan-20, Jan 2020
        rf"{_WEEKDAY}{_MONTH}\s+\d{{1,2}}{_ORD},?\s+\d{{4}}{_TAIL_TIME}",
        rf"{_WEEKDAY}\d{{1,2}}{_ORD}[\s-]+{_MONTH}[\s,-]+(?:\d{{4}}|\d{{2}}){_TAIL_TIME}",
        rf"{_MONTH}[\s-]+\d{{4}}",
    ]
) + ")$"
TIME_RE = rf"(?i)^{_TIME}$"
EMAIL_RE = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
URL_RE = r"(?i)^(?:(?:https?|ftp)://|www\.)\S+$"
PHONE_RE = (
    r"(?i)^\+?(?:\(\d{1,4}\)|\d{1,4})(?:[\s.-]?(?:\(\d{1,4}\)|\d{2,4})){1,5}"
    r"(?:\s*(?:x|ext\.?)\s*\d{1,5})?$"
)
CURRENCY_RE = "(?i)^[+-]?(?:" + "|".join(
    [
        rf"{_CURRENCY_SIGN}\s?-?(?:{_AMOUNT})",
        rf"(?:{_AMOUNT})\s?{_CURRENCY_SIGN}",
        rf"{_CURRENCY_CODE}\s?(?:{_AMOUNT})",
        rf"(?:{_AMOUNT})\s?{_CURRENCY_CODE}",
    ]
) + ")$"
PERCENT_RE = rf"^[+-]?(?:{_AMOUNT})\s?%$"
_ITEM = r"\s*[^\s,;|\[\]]+(?:\s+[^\s,;|\[\]]+){0,2}\s*"  # at most three words per item
LIST_RE = (
    rf"^(?:\s*\[.*\]\s*|{_ITEM}(?:,{_ITEM})+|{_ITEM}(?:\|{_ITEM})+|{_ITEM}(?:;{_ITEM})+)$"
)
LEADING_ZERO_RE = r"^0\d+$"
CODE_RE = "(?i)^(?:" + "|".join(
    [
        r"#[0-9a-f]{3,8}",  # #1E90FF colours, #12 tags
        r"[a-z]+[-_]?\d+(?:[a-z]+\d*)*(?:[-_/][a-z0-9]+)*",  # N512UA, A320-214, k10452
        r"\d+[a-z]+\d[a-z0-9]*(?:[-_/][a-z0-9]+)*",  # 3M42, 4x4, 12B7
        r"[a-z]+\d*[-_][a-z0-9]*\d[a-z0-9]*(?:[-_][a-z0-9]+)*",  # C-3PO, SKU-0042
        r"v?\d+(?:\.\d+){2,}[a-z0-9.+-]*|v\d+(?:\.\d+)+[a-z0-9.+-]*",  # 1.2.3, v2.0
        r"\d{4}\s?[-/]?\s?[qwh]\d{1,2}|[qwh]\d{1,2}[\s/-]?\d{4}",  # 2003 Q2, 2011 W14
    ]
) + ")$"
"""Codes of letters and digits, version strings and period labels: they hold digits but
no quantity to extract, so they are never embedded numbers (a unit after a number,
``180cm``, ``3.5 kg``, stays one)."""
DIGIT_RE = r"\d"
ALPHA_RE = r"\p{L}"
WORD_RE = r"\S+"
WHITESPACE_RE = r"\s"
DELIM_RE = r"[,;|/\\\t-]"
STOPWORDS: tuple[str, ...] = (
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any",
    "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
    "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her",
    "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "just", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off",
    "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own", "same",
    "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs",
    "them", "then", "there", "these", "they", "this", "those", "through", "to", "too",
    "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours",
)  # fmt: skip
STOPWORD_RE = r"(?i)\b(?:" + "|".join(STOPWORDS) + r")\b"

SHAPES: tuple[str, ...] = (
    "numeric", "int", "float", "bool", "date", "time", "email", "url", "phone", "currency",
    "percent", "embedded_number", "list", "alpha", "leading_zero",
)  # fmt: skip
"""Shape names, in ProfileView order (``<shape>_frac``)."""

TEXT_COUNTS: tuple[str, ...] = ("len", "word", "whitespace", "delim", "stopword")
"""Per-value counts whose mean/std the sketch keeps (``<name>_mean`` / ``<name>_std``)."""


def stripped(col: pl.Expr) -> pl.Expr:
    """The value without surrounding whitespace: shapes are judged on this."""
    return col.str.strip_chars()


def number(col: pl.Expr) -> pl.Expr:
    """The value as a finite Float64 when it is a plain number (thousands commas ok), else null."""
    s = stripped(col)
    parsed = s.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
    ok = s.str.contains(NUMERIC_RE) & parsed.is_finite()
    return pl.when(ok).then(parsed).otherwise(None)


def shape_masks(col: pl.Expr) -> dict[str, pl.Expr]:
    """One boolean expression per shape in ``SHAPES`` (null where the value is null)."""
    s = stripped(col)
    lower = s.str.to_lowercase()
    numeric = number(col).is_not_null()
    is_int = numeric & s.str.contains(INT_RE)
    date = lower.str.contains(DATE_RE)
    time = lower.str.contains(TIME_RE)
    email = s.str.contains(EMAIL_RE)
    url = s.str.contains(URL_RE)
    digits = s.str.count_matches(DIGIT_RE)
    phone = (
        s.str.contains(PHONE_RE)
        & digits.is_between(7, 15)
        & (s.str.contains(r"[\s().-]") | s.str.starts_with("+"))
        & ~date
        & ~numeric
    )
    currency = lower.str.contains(CURRENCY_RE)
    percent = s.str.contains(PERCENT_RE)
    listy = s.str.contains(LIST_RE) & ~numeric & ~currency & ~date
    code = s.str.contains(CODE_RE) & ~currency & ~percent
    embedded = (digits > 0) & ~(numeric | date | time | url | email | phone | listy | code)
    return {
        "numeric": numeric,
        "int": is_int,
        "float": numeric & ~is_int,
        "bool": s.str.contains(BOOL_RE),
        "date": date,
        "time": time,
        "email": email,
        "url": url,
        "phone": phone,
        "currency": currency,
        "percent": percent,
        "embedded_number": embedded,
        "list": listy,
        "alpha": s.str.contains(ALPHA_RE),
        "leading_zero": s.str.contains(LEADING_ZERO_RE),
    }


def text_counts(col: pl.Expr) -> dict[str, pl.Expr]:
    """One integer expression per name in ``TEXT_COUNTS`` (on the raw, unstripped value)."""
    return {
        "len": col.str.len_chars(),
        "word": col.str.count_matches(WORD_RE),
        "whitespace": col.str.count_matches(WHITESPACE_RE),
        "delim": col.str.count_matches(DELIM_RE),
        "stopword": col.str.count_matches(STOPWORD_RE),
    }


# --- fast paths used by the sketch (same answers as the reference functions above) ----
TEXT_SHAPES: tuple[str, ...] = (
    "bool", "date", "time", "email", "url", "phone", "currency", "percent",
    "embedded_number", "list", "alpha",
)  # fmt: skip
"""Shapes that need a regex on values that are *not* plain numbers (the others are 0
there: ``numeric``, ``int``, ``float`` and ``leading_zero`` imply a plain number)."""

TEXT_ONLY_COUNTS: tuple[str, ...] = ("word", "whitespace", "delim", "stopword")
"""Text counts that need a regex on values that are not plain numbers."""


def plain_number(stripped_col: pl.Expr) -> pl.Expr:
    """Like ``number`` on an already stripped value, without the regex check: a superset
    (it also accepts e.g. ``1,2,3``); callers confirm with ``NUMERIC_RE`` on candidates."""
    parsed = stripped_col.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
    return pl.when(parsed.is_finite()).then(parsed).otherwise(None)


def numeric_value_features(col: pl.Expr, *, padded: bool = True) -> dict[str, pl.Expr]:
    """Shapes and text counts of values *known to be plain numbers* (``number`` not null),
    from literal checks only. Equal to ``shape_masks`` / ``text_counts`` on such values:
    a plain number (``[+-]``, digits, one ``.``, ``,`` groups, ``e``-exponent) cannot be a
    date, time, email, url, phone, currency, percent, list, bool or embedded number; it
    is a single token after stripping, so it has one word, no stopword, and its
    whitespace is the stripped padding; its only letter is an exponent ``e``; of the
    ``DELIM_RE`` characters it can hold only ``,`` and ``-`` (and a padding tab).
    ``padded=False`` promises no surrounding whitespace (values that cast as they are)."""
    if not padded:  # no padding, hence no ',' either (such values cast as they are)
        is_int = ~col.str.contains(r"[.eE]")
        return {
            "int": is_int,
            "leading_zero": is_int & col.str.starts_with("0") & (col.str.len_bytes() >= 2),
            "alpha": col.str.contains(r"[eE]"),
            "whitespace": pl.lit(0),
            "delim": col.str.count_matches("-", literal=True),
        }
    s = stripped(col)
    is_int = ~col.str.contains(r"[.eE]")
    return {
        "int": is_int,
        "leading_zero": is_int & s.str.starts_with("0") & (s.str.len_bytes() >= 2)
        & ~col.str.contains(",", literal=True),
        "alpha": col.str.contains(r"[eE]"),
        "whitespace": col.str.len_chars() - s.str.len_chars(),
        "delim": col.str.count_matches(DELIM_RE),
    }


def text_shape_parts(col: pl.Expr) -> dict[str, pl.Expr]:
    """Every regex ``shape_masks`` and ``text_counts`` need on values that are *not* plain
    numbers, each evaluated once (combine with ``combine_text_shapes``)."""
    s = stripped(col)
    lower = s.str.to_lowercase()
    return {
        "bool": s.str.contains(BOOL_RE),
        "date": lower.str.contains(DATE_RE),
        "time": lower.str.contains(TIME_RE),
        "email": s.str.contains(EMAIL_RE),
        "url": s.str.contains(URL_RE),
        "phone_re": s.str.contains(PHONE_RE),
        "phone_punct": s.str.contains(r"[\s().-]") | s.str.starts_with("+"),
        "digits": s.str.count_matches(DIGIT_RE),
        "currency": lower.str.contains(CURRENCY_RE),
        "percent": s.str.contains(PERCENT_RE),
        "list_re": s.str.contains(LIST_RE),
        "code": s.str.contains(CODE_RE),
        "alpha": s.str.contains(ALPHA_RE),
        "word": col.str.count_matches(WORD_RE),
        "whitespace": col.str.count_matches(WHITESPACE_RE),
        "delim": col.str.count_matches(DELIM_RE),
        "stopword": col.str.count_matches(STOPWORD_RE),
    }


def combine_text_shapes(parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``TEXT_SHAPES`` masks from ``text_shape_parts`` (the logic of ``shape_masks`` with
    ``numeric`` false)."""
    date, time, currency = parts["date"], parts["time"], parts["currency"]
    digits = parts["digits"]
    phone = parts["phone_re"] & (digits >= 7) & (digits <= 15) & parts["phone_punct"] & ~date
    listy = parts["list_re"] & ~currency & ~date
    code = parts["code"] & ~currency & ~parts["percent"]
    embedded = (digits > 0) & ~(date | time | parts["url"] | parts["email"] | phone | listy
                                | code)
    return {
        "bool": parts["bool"], "date": date, "time": time, "email": parts["email"],
        "url": parts["url"], "phone": phone, "currency": currency,
        "percent": parts["percent"], "embedded_number": embedded, "list": listy,
        "alpha": parts["alpha"],
    }
