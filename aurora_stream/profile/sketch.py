"""The mergeable sketch of one column (writer side) and its ``ProfileView`` (reader side).

A ``ColumnSketch`` holds no raw value: strings only as 64-bit hashes (distinct count in an
Apache DataSketches HLL, frequent items in a frequent-strings sketch over hash hex
digests), numbers only coarsened to 3 significant digits (min/max, the quantile
histogram of ``quantiles``, monotonicity boundaries) or as exact aggregates (moments; see
``moments`` for the single-value caveat). Everything else is counts.

Speed: ``sketch_frame`` works on each chunk's *distinct* values weighted by their counts
(``value_counts``), runs the shape and text regexes only on the values that are not plain
numbers, and, past ``SHAPE_SAMPLE`` such values in one column chunk, only on a
deterministic sample of them. Everything is batched across the columns of a chunk.

Exact, whatever the chunk: count, nulls, distinct (HLL), frequent items, numeric
moments, min/max, negative/zero, quantiles (deterministic: the same values give the same
histogram, hence the same bytes, for any chunking and merge order), monotonicity, the
``numeric``/``int``/``float``/``leading_zero`` shapes, and the ``len`` moments and range.

Estimated only when a column chunk has more than ``SHAPE_SAMPLE`` (2,048) distinct
non-numeric values (``estimated_rows`` counts the rows concerned; 0 means exact): the
other shape counts (bool, date, time, email, url, phone, currency, percent,
embedded_number, list, alpha) and the word/whitespace/delim/stopword moments. The
``SHAPE_HEAVY`` (512) most frequent values count exactly; from the rest, the 1,536
values with the smallest hashes (a bottom-k sample: deterministic, uniform over
distinct values) stand for all of them, scaled by a ratio estimator so that row totals
stay exact. For a fraction ``p`` of the sampled tail the standard error is about
``sqrt(p(1-p)/1536) * sqrt(1 + cv**2)`` (``cv``: coefficient of variation of the tail
values' counts; ~0 for a high-cardinality column), i.e. at most ~1.3 % of the non-null
count when tail counts are even, times the tail's share of the rows.
``SHAPE_FRAC_TOLERANCE`` (0.05, about 4 standard errors) bounds an estimated shape
fraction, and ``TEXT_MEAN_TOLERANCE`` (10 % of the value, or 0.1 below 1) an estimated
text mean or std, in the tests. The sample depends on how a file is chunked, so merged
chunks and the whole column agree within those tolerances, not exactly; one chunking
always gives the same bytes.

>>> v = profile_values(["1", "2", "2", None])
>>> v.count, v.null_frac, v.int_frac, v.distinct_count, v.top1_frac
(4.0, 0.25, 1.0, 2.0, 0.6666666666666666)
"""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Iterable, Sequence

import datasketches as ds
import numpy as np
import orjson
import polars as pl

from aurora_stream.ingest.missing import DEFAULT_MISSING, series_to_null
from aurora_stream.profile import shapes
from aurora_stream.profile.coarsen import coarsen, coarsen_array
from aurora_stream.profile.hashing import hash_scheme, hash_seed
from aurora_stream.profile.moments import Moments
from aurora_stream.profile.order import Order, Segment
from aurora_stream.profile.quantiles import Histogram
from aurora_stream.profile.view import ProfileView

HLL_LG_K = 12  # 4096 registers: relative standard error ~1.6 %, <= 2.1 KB as HLL_4
HLL_TYPE = ds.HLL_4
FREQ_LG_MAX_MAP = 7  # up to 96 tracked items; error <= 3.5/128 of the non-null count
FREQ_FEED = 512  # per chunk, only the 512 most frequent hashes feed the frequent sketch
SHAPE_SAMPLE = 2048  # per chunk, at most this many non-numeric distinct values get regexes
SHAPE_HEAVY = 512  # ... of which the most frequent ones (exact); the rest a hash sample
SHAPE_FRAC_TOLERANCE = 0.05  # documented bound on an estimated shape fraction (see module doc)
TEXT_MEAN_TOLERANCE = 0.1  # ... on an estimated word/whitespace/delim/stopword mean or std
_QUANTILES = {"q01": 0.01, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q99": 0.99}
_FORMAT = 2  # 2: deterministic histogram instead of KLL, estimated_rows
_NO_FALSE_NEGATIVES = ds.frequent_items_error_type.NO_FALSE_NEGATIVES


class ColumnSketch:
    """Mergeable sketch of one column (whylogs-style writer).

    Holds NO raw value: strings only as hashes, numbers only coarsened (or as exact
    aggregate moments, which equal the value when a single number was seen).
    ``ColumnSketch()`` is the zero sketch, the identity of ``merge``.
    """

    __slots__ = (
        "scheme", "count", "nulls", "shape", "num", "text", "len_min", "len_max",
        "num_min", "num_max", "negative", "zero", "dup_seen", "order", "cast_failures",
        "estimated_rows", "_hll", "_freq", "_hist",
    )  # fmt: skip

    def __init__(self) -> None:
        self.scheme: str | None = None  # hash scheme; None until a value was hashed
        self.count = 0  # rows, nulls included
        self.nulls = 0
        self.shape: dict[str, int] = dict.fromkeys(shapes.SHAPES, 0)
        self.num = Moments()  # of the values that parse as plain numbers
        self.text: dict[str, Moments] = {t: Moments() for t in shapes.TEXT_COUNTS}
        self.len_min: int | None = None
        self.len_max: int | None = None
        self.num_min: float | None = None  # coarsened
        self.num_max: float | None = None  # coarsened
        self.negative = 0
        self.zero = 0
        self.dup_seen = False  # a value repeated inside one chunk
        self.order = Order()
        self.cast_failures = 0  # non-string cells that could not be read as text
        self.estimated_rows = 0  # non-null rows whose text shapes were estimated (sampled)
        self._hll: ds.hll_sketch | None = None
        self._freq: ds.frequent_strings_sketch | None = None
        self._hist = Histogram()  # coarsened numbers (deterministic quantiles)

    # --- writer --------------------------------------------------------------------
    def update(self, values: pl.Series) -> None:
        """Add the next chunk of this column (row order after what was seen before).

        Non-Utf8 input is cast to text; cells that fail the cast count as
        ``cast_failures`` and as nulls. Never raises on odd values.
        """
        series, failures = _as_text(values)
        chunk = sketch_frame(series.to_frame("v"))[0]
        chunk.cast_failures += failures
        self._absorb(chunk, ordered=True)

    def at_seq(self, seq: int) -> ColumnSketch:
        """A copy whose chunk-order information is placed at chunk ``seq`` of its file.

        Needed for monotonicity when chunks are merged out of order (the accumulator
        does it); everything else is order-free.
        """
        out = self.copy()
        out.order = self.order.at(seq)
        return out

    # --- merge ---------------------------------------------------------------------
    def merge(self, other: ColumnSketch) -> ColumnSketch:
        """A new sketch summarizing both; inputs are untouched. Associative, commutative."""
        out = self.copy()
        out._absorb(other, ordered=False)
        return out

    __add__ = merge

    def copy(self) -> ColumnSketch:
        out = ColumnSketch.__new__(ColumnSketch)
        for name in ColumnSketch.__slots__:
            setattr(out, name, getattr(self, name))
        out.shape = dict(self.shape)
        out.text = dict(self.text)
        out._hll = _copy_sketch(self._hll, ds.hll_sketch, compact=True)
        out._freq = _copy_sketch(self._freq, ds.frequent_strings_sketch)
        return out

    def _absorb(self, other: ColumnSketch, *, ordered: bool) -> None:
        """Merge ``other`` into self in place (``ordered``: other comes after self)."""
        if other.scheme is not None:
            if self.scheme is not None and self.scheme != other.scheme:
                raise ValueError(
                    f"cannot merge sketches hashed as {self.scheme} and {other.scheme}"
                )
            self.scheme = other.scheme
        self.count += other.count
        self.nulls += other.nulls
        for k, v in other.shape.items():
            self.shape[k] = self.shape.get(k, 0) + v
        self.num = self.num + other.num
        self.text = {k: self.text[k] + other.text[k] for k in self.text}
        self.len_min = _opt(min, self.len_min, other.len_min)
        self.len_max = _opt(max, self.len_max, other.len_max)
        self.num_min = _opt(min, self.num_min, other.num_min)
        self.num_max = _opt(max, self.num_max, other.num_max)
        self.negative += other.negative
        self.zero += other.zero
        self.dup_seen = self.dup_seen or other.dup_seen
        self.cast_failures += other.cast_failures
        self.estimated_rows += other.estimated_rows
        self.order = (
            self.order.then(other.order.loose) if ordered and not other.order.placed
            else self.order.merge(other.order)
        )
        if other._hll is not None:
            union = ds.hll_union(HLL_LG_K)
            if self._hll is not None:
                union.update(self._hll)
            union.update(other._hll)
            self._hll = union.get_result(HLL_TYPE)
        if other._freq is not None:
            if self._freq is None:
                self._freq = _copy_sketch(other._freq, ds.frequent_strings_sketch)
            else:
                self._freq.merge(other._freq)
        self._hist = self._hist.merge(other._hist)  # immutable: sharing is safe

    # --- serialization -------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Compact, safe bytes: orjson around DataSketches' own serializations (no pickle)."""
        doc = {
            "v": _FORMAT,
            "scheme": self.scheme,
            "count": self.count,
            "nulls": self.nulls,
            "shape": {k: v for k, v in self.shape.items() if v},
            "num": self.num.to_list(),
            "text": {k: m.to_list() for k, m in self.text.items()},
            "len": [self.len_min, self.len_max],
            "range": [self.num_min, self.num_max],
            "sign": [self.negative, self.zero],
            "dup": self.dup_seen,
            "order": self.order.to_list(),
            "cast_failures": self.cast_failures,
            "estimated_rows": self.estimated_rows,
            "hll": _b64(self._hll.serialize_compact()) if self._hll is not None else None,
            "freq": _b64(self._freq.serialize()) if self._freq is not None else None,
            "hist": self._hist.to_list(),
        }
        return orjson.dumps(doc)

    @classmethod
    def from_bytes(cls, data: bytes) -> ColumnSketch:
        """Inverse of ``to_bytes``; raises ValueError on bytes that are not a sketch."""
        try:
            doc = orjson.loads(data)
            if doc.get("v") != _FORMAT:
                raise ValueError(f"unknown sketch format {doc.get('v')!r}")
            out = cls()
            out.scheme = doc["scheme"]
            out.count = int(doc["count"])
            out.nulls = int(doc["nulls"])
            out.shape.update({k: int(v) for k, v in doc["shape"].items() if k in out.shape})
            out.num = Moments.from_list(doc["num"])
            out.text.update({k: Moments.from_list(v) for k, v in doc["text"].items()
                             if k in out.text})
            out.len_min, out.len_max = (_number(x) for x in doc["len"])
            out.num_min, out.num_max = (_number(x) for x in doc["range"])
            out.negative, out.zero = (int(x) for x in doc["sign"])
            out.dup_seen = bool(doc["dup"])
            out.order = Order.from_list(doc["order"])
            out.cast_failures = int(doc["cast_failures"])
            out.estimated_rows = int(doc["estimated_rows"])
            if doc["hll"] is not None:
                blob = _bounded(doc["hll"], "hll", lg=HLL_LG_K)
                out._hll = ds.hll_sketch.deserialize(blob)
            if doc["freq"] is not None:
                blob = _bounded(doc["freq"], "freq", lg=FREQ_LG_MAX_MAP)
                out._freq = ds.frequent_strings_sketch.deserialize(blob)
            out._hist = Histogram.from_list(doc["hist"])
        except ValueError:
            raise
        except Exception as exc:  # any other malformation: refused, never a crash later
            raise ValueError(f"not a column sketch: {exc!r}") from exc
        return out

    # --- reader --------------------------------------------------------------------
    @property
    def non_null(self) -> int:
        return self.count - self.nulls

    def distinct_estimate(self) -> float:
        return 0.0 if self._hll is None else float(self._hll.get_estimate())

    def distinct_bounds(self, num_std_dev: int = 2) -> tuple[float, float]:
        """HLL confidence interval of the distinct count (``num_std_dev`` in 1..3)."""
        if self._hll is None:
            return 0.0, 0.0
        return (float(self._hll.get_lower_bound(num_std_dev)),
                float(self._hll.get_upper_bound(num_std_dev)))

    def top_counts(self, k: int = 5) -> list[tuple[float, float]]:
        """(estimate, lower bound) of the ``k`` most frequent values, most frequent first."""
        if self._freq is None:
            return []
        items = self._freq.get_frequent_items(_NO_FALSE_NEGATIVES)
        return [(float(est), float(lb)) for _, est, lb, _ in items[:k]]

    def quantile(self, q: float) -> float | None:
        """Quantile of the coarsened numeric values (None when no numbers)."""
        return self.quantiles([q])[0]

    def quantiles(self, qs: Sequence[float]) -> list[float | None]:
        """Several quantiles at once, from the deterministic histogram (see ``quantiles``)."""
        return self._hist.quantiles(qs)

    def view(self) -> ProfileView:
        """The reader side: every ProfileView field this sketch can fill.

        Numeric location and spread (mean, std, skew, kurtosis, min, max, quantiles) are
        coarsened to 3 significant digits, so a view never shows an exact raw number.
        """
        f: dict[str, float | None] = {"count": float(self.count),
                                      "null_count": float(self.nulls)}
        if self.count:
            f["null_frac"] = self.nulls / self.count
        nn = self.non_null
        if nn > 0:
            distinct = float(min(round(self.distinct_estimate()), nn))
            top = self.top_counts(5)
            f["distinct_count"] = distinct
            f["distinct_frac"] = distinct / nn
            f["top1_frac"] = min(top[0][0] / nn, 1.0) if top else None
            f["top5_frac"] = min(sum(e for e, _ in top) / nn, 1.0) if top else None
            for k in shapes.SHAPES:
                f[f"{k}_frac"] = self.shape[k] / nn
            for k in shapes.TEXT_COUNTS:
                m = self.text[k]
                f[f"{k}_mean"] = m.mean
                f[f"{k}_std"] = m.std
            f["len_min"] = _float(self.len_min)
            f["len_max"] = _float(self.len_max)
            upper = self.distinct_bounds(2)[1]
            f["is_unique"] = float(
                not self.dup_seen and (not top or top[0][1] <= 1.0) and upper >= nn
            )
            f["is_constant"] = float(round(distinct) == 1 and bool(top) and top[0][0] >= nn)
        n = self.num
        if n.n > 0:
            f["mean"] = coarsen(n.mean)
            f["std"] = coarsen(n.std)
            f["skew"] = None if n.skew is None else coarsen(n.skew)
            f["kurtosis"] = None if n.kurtosis is None else coarsen(n.kurtosis)
            f["min"] = self.num_min
            f["max"] = self.num_max
            for name, value in zip(_QUANTILES, self.quantiles(list(_QUANTILES.values())),
                                   strict=True):
                f[name] = None if value is None else coarsen(value)
            f["negative_frac"] = self.negative / n.n
            f["zero_frac"] = self.zero / n.n
        f["is_monotonic"] = self.order.is_monotonic()
        return ProfileView(**{k: v for k, v in f.items() if v is not None})

    def __repr__(self) -> str:
        return (f"ColumnSketch(count={self.count}, nulls={self.nulls}, "
                f"distinct~{self.distinct_estimate():.0f}, numeric={int(self.num.n)})")


MISSING_MARKERS: tuple[str, ...] = tuple(dict.fromkeys(m.lower() for m in DEFAULT_MISSING))
"""The parse stage's default markers (``ingest.missing``), lower-cased: counted as nulls."""


def sketch_frame(frame: pl.DataFrame,
                 missing: Iterable[str] = DEFAULT_MISSING) -> list[ColumnSketch]:
    """One sketch per column of a chunk (an all-Utf8 frame).

    ``missing``: marker cells counted as nulls; the parse stage passes ``()`` because it
    already turned its dialect's markers into nulls (one list, decided there).

    Columns that are not Utf8 are cast to text first (failed cells count as nulls).

    How (see the module doc for what is exact and what is estimated):

    1. per column, the chunk's distinct non-null values and their counts
       (``value_counts``); their hashes feed the HLL (all of them) and the frequent
       sketch (the ``FREQ_FEED`` most frequent);
    2. each distinct value is tried as a plain number (a cast; ``NUMERIC_RE`` confirms
       only the rare candidates with characters other than ``[0-9.eE+-]``); plain
       numbers get their shapes and text counts from literal checks
       (``shapes.numeric_value_features``) and, in row order, feed the moments, range,
       histogram and order segment;
    3. only the distinct values that are *not* numbers go through the shape and text
       regexes, weighted by their counts: all of them when a column has at most
       ``SHAPE_SAMPLE`` such values, else the ``SHAPE_HEAVY`` most frequent plus a
       bottom-k hash sample of the rest. One polars ``select`` per step covers every
       column of the chunk.
    """
    seed = hash_seed()
    scheme = hash_scheme(seed)
    casts = [_as_text(frame.get_column(c)) for c in frame.columns]
    casts = [(series_to_null(series, missing), failures) for series, failures in casts]
    out: list[ColumnSketch] = []
    live: list[int] = []
    for i, (series, failures) in enumerate(casts):
        sk = ColumnSketch()
        sk.count = series.len()
        sk.nulls = series.null_count()
        sk.cast_failures = failures
        out.append(sk)
        if sk.count > sk.nulls:
            sk.scheme = scheme
            live.append(i)
    if not live:
        return out
    u = _distinct_values([casts[i][0] for i in live], seed)
    sketches = [out[i] for i in live]
    _add_hashes(sketches, u)
    _add_numbers(sketches, [casts[i][0] for i in live], u)
    _add_shapes(sketches, u)
    return out


def profile_values(values: Sequence[str | None]) -> ProfileView:
    """One-shot: the view of a whole column given as Python strings (or None)."""
    series = pl.Series("v", [None if v is None else str(v) for v in values], dtype=pl.Utf8)
    return sketch_frame(series.to_frame())[0].view()


# --- helpers -------------------------------------------------------------------------
class _Distinct:
    """The distinct non-null values of every column of a chunk: numpy arrays ordered by
    column, then by hash (``value_counts`` returns them in a random order; a fixed order
    keeps every float sum, hence the sketch, identical from run to run)."""

    __slots__ = ("frame", "bounds", "row", "n", "h", "num", "len", "slow")

    def __init__(self, frame: pl.DataFrame, width: int, slow: dict[int, pl.Series]) -> None:
        self.frame = frame  # col, v, n, h (u64), len, num — in value_counts order
        col = frame.get_column("col").to_numpy()
        self.bounds = np.searchsorted(col, np.arange(width + 1))
        h = frame.get_column("h").to_numpy()
        self.row = np.concatenate([a + np.argsort(h[a:b], kind="stable") for a, b in
                                   zip(self.bounds[:-1], self.bounds[1:], strict=True)])
        self.h = h[self.row]
        self.n = frame.get_column("n").to_numpy().astype(np.int64)[self.row]
        self.num = frame.get_column("num").to_numpy().astype(bool)[self.row]
        self.len = frame.get_column("len").to_numpy().astype(np.float64)[self.row]
        self.slow = slow  # per column: plain numbers that need stripping or ',' removal

    def values(self, idx: np.ndarray) -> pl.Series:
        """The distinct values at positions ``idx`` (of the arrays above)."""
        return self.frame.get_column("v").gather(self.row[idx])

    def top(self, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` rows of ``idx`` with the largest count, ties by smallest hash, in that
        order; and the other rows. Deterministic, O(len(idx)) plus a sort of ``k``."""
        if idx.size > k:
            n = self.n[idx]
            t = np.partition(n, idx.size - k)[idx.size - k]  # k-th largest count
            above, at = idx[n > t], idx[n == t]
            need = k - above.size
            h = self.h[at]
            at = at[np.argpartition(h, need - 1)[:need]] if need < at.size else at
            chosen = np.concatenate([above, at])
            rest = np.setdiff1d(idx, chosen, assume_unique=True)
        else:
            chosen, rest = idx, idx[:0]
        order = np.lexsort((self.h[chosen], -self.n[chosen]))
        return chosen[order], rest

    def bottom_hashes(self, idx: np.ndarray, k: int) -> np.ndarray:
        """The ``k`` rows of ``idx`` with the smallest hashes (a bottom-k sample), sorted."""
        if idx.size <= k:
            return idx
        return np.sort(idx[np.argpartition(self.h[idx], k - 1)[:k]])


def _distinct_values(columns: list[pl.Series], seed: int) -> _Distinct:
    counts = [c.drop_nulls().rename("v").value_counts(name="n") for c in columns]
    col = np.repeat(np.arange(len(columns), dtype=np.uint32), [f.height for f in counts])
    v = pl.col("v")
    frame = (
        pl.concat(counts).with_columns(pl.Series("col", col)).lazy()
        .with_columns(
            v.hash(seed).alias("h"),
            v.str.len_chars().alias("len"),
            # fast path: a plain number as is (no padding, no ',') casts directly
            v.cast(pl.Float64, strict=False).is_finite().fill_null(False).alias("num"),
        )
        .with_columns(  # anything else that might be one after stripping / ',' removal
            (~pl.col("num") & v.str.contains(r"^\s*[+\-.0-9]")).alias("maybe")
        )
        .collect()
    )
    slow: dict[int, pl.Series] = {}
    if frame.get_column("maybe").any():  # the reference rule, on those candidates only
        maybe = frame.filter(pl.col("maybe")).filter(shapes.number(v).is_not_null())
        if maybe.height:
            for (c,), part in maybe.group_by("col"):
                slow[int(c)] = part.get_column("v")
            frame = frame.with_columns(
                pl.col("num") | (pl.col("maybe") & v.is_in(maybe.get_column("v").implode()))
            )
    return _Distinct(frame.drop("maybe"), len(columns), slow)


def _add_hashes(sketches: list[ColumnSketch], u: _Distinct) -> None:
    """Distinct hashes into the HLL; the chunk's most frequent hashes into the frequent
    sketch (most frequent first, ties by hash, so the result is deterministic)."""
    signed = u.h.view(np.int64)
    for j, sk in enumerate(sketches):
        a, b = u.bounds[j], u.bounds[j + 1]
        sk.dup_seen = bool(u.n[a:b].max() > 1)
        hll = ds.hll_sketch(HLL_LG_K, HLL_TYPE)
        deque(map(hll.update, signed[a:b].tolist()), maxlen=0)  # C-speed loop
        sk._hll = hll
        freq = ds.frequent_strings_sketch(FREQ_LG_MAX_MAP)
        top, _ = u.top(np.arange(a, b), FREQ_FEED)
        for h, n in zip(signed[top].tolist(), u.n[top].tolist(), strict=True):
            freq.update(f"{h & 0xFFFF_FFFF_FFFF_FFFF:016x}", n)
        sk._freq = freq


NUM_LIMIT = 1e50  # |x| beyond this: its 4th power would overflow the moments' float sums


def _add_numbers(sketches: list[ColumnSketch], columns: list[pl.Series], u: _Distinct) -> None:
    """Numeric values, in row order: moments, coarsened range, histogram, order segment."""
    todo = [j for j in range(len(sketches)) if u.num[u.bounds[j]:u.bounds[j + 1]].any()]
    if not todo:
        return
    exprs = []
    for j in todo:
        c = pl.col(f"c{j}")
        fast = c.cast(pl.Float64, strict=False)
        x = pl.when(fast.is_finite()).then(fast)
        if j in u.slow:  # padded or ',' numbers: the reference rule, by value
            x = x.when(c.is_in(u.slow[j].implode())).then(shapes.number(c))
        exprs.append(x.otherwise(None).alias(f"x{j}"))
    parsed = pl.DataFrame([columns[j].rename(f"c{j}") for j in todo]).select(exprs)
    for j in todo:
        values = parsed.get_column(f"x{j}").drop_nulls().to_numpy()
        sk = sketches[j]
        fits = np.abs(values) < NUM_LIMIT
        if not fits.all():  # e.g. a 185-digit cell: counted, never allowed to overflow moments
            sk.cast_failures += int((~fits).sum())
            values = values[fits]
            if values.size == 0:
                continue
        sk.num = _moments_of(values)
        coarse = coarsen_array(values)
        sk.num_min = coarsen(float(values.min()))
        sk.num_max = coarsen(float(values.max()))
        sk.negative = int((values < 0).sum())
        sk.zero = int((values == 0).sum())
        sk._hist = Histogram.of(coarse)
        sk.order = Order(Segment.of(coarse))


def _moments_of(x: np.ndarray, w: np.ndarray | None = None) -> Moments:
    """Moments of values ``x`` with (possibly fractional) weights ``w``."""
    if x.size == 0:
        return Moments()
    x = x.astype(np.float64, copy=False)
    if w is None:
        n = float(x.size)
        mean = float(x.mean())
        d = x - mean
        d2 = d * d
        return Moments(n, mean, float(d2.sum()), float((d2 * d).sum()), float((d2 * d2).sum()))
    n = float(w.sum())
    if n <= 0:
        return Moments()
    mean = float((w * x).sum() / n)
    d = x - mean
    d2 = d * d
    return Moments(n, mean, float((w * d2).sum()), float((w * d2 * d).sum()),
                   float((w * d2 * d2).sum()))


def _sample(u: _Distinct, a: int, b: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows of ``u`` (column slice a:b, non-numeric values) whose regexes run, their
    weights, and how many rows are estimated (0: every value runs, the result is exact)."""
    idx = a + np.flatnonzero(~u.num[a:b])
    if idx.size <= SHAPE_SAMPLE:
        return idx, u.n[idx].astype(np.float64), 0
    heavy, tail = u.top(idx, SHAPE_HEAVY)
    picked = u.bottom_hashes(tail, SHAPE_SAMPLE - SHAPE_HEAVY)
    tail_rows = float(u.n[tail].sum())
    picked_rows = u.n[picked].astype(np.float64)
    scale = tail_rows / float(picked_rows.sum())  # ratio estimator: totals stay exact
    weights = np.concatenate([u.n[heavy].astype(np.float64), picked_rows * scale])
    return np.concatenate([heavy, picked]), weights, int(tail_rows)


def _add_shapes(sketches: list[ColumnSketch], u: _Distinct) -> None:
    """Shape counts and text-count moments of every column (regexes on the non-numeric
    distinct values only, one polars select for all columns)."""
    v = pl.col("v")
    picks, weights = [], []
    for j, sk in enumerate(sketches):
        idx, w, estimated = _sample(u, u.bounds[j], u.bounds[j + 1])
        sk.estimated_rows = estimated
        picks.append(idx)
        weights.append(w)
    pick = np.concatenate(picks)
    tw = np.concatenate(weights)
    tb = np.cumsum([0] + [p.size for p in picks])
    num_idx = np.flatnonzero(u.num)
    texts, nums = pl.collect_all([  # both selects at once (polars runs them in parallel)
        u.values(pick).to_frame("v").lazy().select(**shapes.text_shape_parts(v)),
        u.values(num_idx).to_frame("v").lazy().select(
            **shapes.numeric_value_features(v, padded=bool(u.slow))),
    ])
    parts = {k: texts.get_column(k).to_numpy() for k in texts.columns}
    masks = shapes.combine_text_shapes(parts)
    nf = {k: nums.get_column(k).to_numpy() for k in nums.columns}
    nb = np.searchsorted(num_idx, u.bounds)
    lens = u.len
    for j, sk in enumerate(sketches):
        a, b = u.bounds[j], u.bounds[j + 1]
        na, nz = nb[j], nb[j + 1]
        ta, tz = tb[j], tb[j + 1]
        wn = u.n[num_idx[na:nz]].astype(np.float64)
        wt = tw[ta:tz]
        shape = dict.fromkeys(shapes.SHAPES, 0)
        shape["numeric"] = int(wn.sum())
        shape["int"] = int(wn[nf["int"][na:nz]].sum())
        shape["float"] = shape["numeric"] - shape["int"]
        shape["leading_zero"] = int(wn[nf["leading_zero"][na:nz]].sum())
        for k in shapes.TEXT_SHAPES:
            shape[k] = int(round(float(wt[masks[k][ta:tz]].sum())))
        shape["alpha"] += int(wn[nf["alpha"][na:nz]].sum())
        sk.shape = shape
        lv = lens[a:b]
        sk.len_min, sk.len_max = int(lv.min()), int(lv.max())
        text = {"len": _moments_of(lv, u.n[a:b].astype(np.float64))}
        w = np.concatenate([wn, wt])
        m = nz - na
        per_num = {"word": np.ones(m), "stopword": np.zeros(m),
                   "whitespace": nf["whitespace"][na:nz], "delim": nf["delim"][na:nz]}
        for k in shapes.TEXT_ONLY_COUNTS:
            vals = np.concatenate([per_num[k].astype(np.float64),
                                   parts[k][ta:tz].astype(np.float64)])
            text[k] = _moments_of(vals, w)
        sk.text = text


def _as_text(values: pl.Series) -> tuple[pl.Series, int]:
    """The series as Utf8 plus how many non-null cells could not be cast."""
    if values.dtype == pl.Utf8:
        return values, 0
    try:
        cast = values.cast(pl.Utf8, strict=False)
    except (pl.exceptions.PolarsError, TypeError, ValueError):
        return pl.Series(values.name, [None] * values.len(), dtype=pl.Utf8), values.len()
    return cast, int(cast.null_count() - values.null_count())


def _copy_sketch(sketch, kind, *, compact: bool = False):
    if sketch is None:
        return None
    return kind.deserialize(sketch.serialize_compact() if compact else sketch.serialize())


def _opt(fn, a, b):
    if a is None:
        return b
    if b is None:
        return a
    return fn(a, b)


def _float(x: int | float | None) -> float | None:
    return None if x is None else float(x)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


__all__ = ["ColumnSketch", "sketch_frame", "profile_values"]


MAX_SKETCH_BLOB = 1 << 20  # bytes of one serialized DataSketches sketch inside an event


def _number(x: object) -> float | int | None:
    """A JSON number (or null) from untrusted bytes; anything else is refused."""
    if x is None or (isinstance(x, (int, float)) and not isinstance(x, bool)):
        return x  # type: ignore[return-value]
    raise ValueError(f"not a column sketch: expected a number, got {type(x).__name__}")


def _bounded(b64: str, what: str, *, lg: int) -> bytes:
    """A serialized sketch from untrusted bytes, its size parameters checked BEFORE the
    library allocates anything: the parameter (byte 3 of the DataSketches preamble: lg_k
    of an HLL, lg_max_map_size of a frequent-items sketch) must be the one this release
    builds, and a frequent-items current map (byte 4) no larger than its maximum."""
    if not isinstance(b64, str) or len(b64) > MAX_SKETCH_BLOB * 4 // 3 + 4:
        raise ValueError(f"not a column sketch: {what} sketch missing or too large")
    try:
        blob = base64.b64decode(b64, validate=True)
    except ValueError as exc:
        raise ValueError(f"not a column sketch: {what} sketch is not base64 ({exc})") from None
    if len(blob) >= 5 and (blob[3] != lg or (what == "freq" and blob[4] > blob[3])):
        raise ValueError(f"not a column sketch: {what} sketch parameters "
                         f"({blob[3]}, {blob[4]}) are not this release's ({lg})")
    return blob
