"""The mergeable sketch of one column (writer side) and its ``ProfileView`` (reader side).

A ``ColumnSketch`` holds no raw value: strings only as 64-bit hashes (distinct count in an
Apache DataSketches HLL, frequent items in a frequent-strings sketch over hash hex
digests), numbers only coarsened to 3 significant digits (min/max, KLL quantiles,
monotonicity boundaries) or as exact aggregates (moments; see ``moments`` for the
single-value caveat). Everything else is counts.

Sketching is vectorized: ``sketch_frame`` evaluates every shape regex, text count and
numeric moment of every column of a chunk in one lazy polars ``select``; only the
distinct hashes of a chunk go through Python (into the HLL), and at most
``FREQ_FEED`` of them into the frequent-items sketch.

>>> v = profile_values(["1", "2", "2", None])
>>> v.count, v.null_frac, v.int_frac, v.distinct_count, v.top1_frac
(4.0, 0.25, 1.0, 2.0, 0.6666666666666666)
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import datasketches as ds
import numpy as np
import orjson
import polars as pl

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
            out.len_min, out.len_max = doc["len"]
            out.num_min, out.num_max = doc["range"]
            out.negative, out.zero = (int(x) for x in doc["sign"])
            out.dup_seen = bool(doc["dup"])
            out.order = Order.from_list(doc["order"])
            out.cast_failures = int(doc["cast_failures"])
            out.estimated_rows = int(doc["estimated_rows"])
            if doc["hll"] is not None:
                out._hll = ds.hll_sketch.deserialize(base64.b64decode(doc["hll"]))
            if doc["freq"] is not None:
                out._freq = ds.frequent_strings_sketch.deserialize(base64.b64decode(doc["freq"]))
            out._hist = Histogram.from_list(doc["hist"])
        except (KeyError, TypeError, orjson.JSONDecodeError, RuntimeError) as exc:
            raise ValueError(f"not a column sketch: {exc}") from exc
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


def sketch_frame(frame: pl.DataFrame) -> list[ColumnSketch]:
    """One sketch per column of a chunk (an all-Utf8 frame).

    Columns that are not Utf8 are cast to text first (failed cells count as nulls).

    How (see the module doc for what is exact and what is estimated):

    1. per column, the chunk's distinct non-null values and their counts (``value_counts``);
       their hashes feed the HLL (all of them) and the frequent sketch (the
       ``FREQ_FEED`` most frequent);
    2. each distinct value is tried as a plain number (a cast, confirmed by
       ``NUMERIC_RE``); numbers get their shapes and text counts from cheap literal
       checks (``shapes.numeric_value_features``), and, in row order, feed the moments,
       range, histogram and order segment;
    3. only the distinct values that are *not* numbers go through the shape and text
       regexes — all of them when there are at most ``SHAPE_SAMPLE`` such values, else the
       ``SHAPE_HEAVY`` most frequent plus a bottom-k hash sample of the rest — in one
       polars ``select`` for all columns of the chunk, weighted by their counts.
    """
    seed = hash_seed()
    scheme = hash_scheme(seed)
    casts = [_as_text(frame.get_column(c)) for c in frame.columns]
    out: list[ColumnSketch] = []
    pending: list[tuple[ColumnSketch, _Distinct]] = []
    for series, failures in casts:
        sk = ColumnSketch()
        sk.count = series.len()
        sk.nulls = series.null_count()
        sk.cast_failures = failures
        out.append(sk)
        if sk.count == sk.nulls:
            continue
        d = _distinct_values(series, seed)
        sk.scheme = scheme
        _add_hashes(sk, d)
        _add_numbers(sk, series, d)
        pending.append((sk, d))
    _add_shapes(pending)
    return out


def profile_values(values: Sequence[str | None]) -> ProfileView:
    """One-shot: the view of a whole column given as Python strings (or None)."""
    series = pl.Series("v", [None if v is None else str(v) for v in values], dtype=pl.Utf8)
    return sketch_frame(series.to_frame())[0].view()


# --- helpers -------------------------------------------------------------------------
class _Distinct:
    """The distinct non-null values of one column chunk, most frequent first (ties by
    hash), with their counts, hashes and whether each is a plain number."""

    __slots__ = ("frame", "numeric", "text", "bad")

    def __init__(self, frame: pl.DataFrame, bad: pl.Series | None) -> None:
        self.frame = frame  # v (Utf8), n (count), h (u64 hash), num (bool)
        self.numeric = frame.filter(pl.col("num"))
        self.text = frame.filter(~pl.col("num"))
        self.bad = bad  # values the cast accepts but NUMERIC_RE refuses (e.g. "1,2,3")


def _distinct_values(series: pl.Series, seed: int) -> _Distinct:
    vc = series.drop_nulls().rename("v").value_counts(name="n")
    v = pl.col("v")
    s = shapes.stripped(v)
    frame = vc.with_columns(
        v.hash(seed).alias("h"),
        shapes.plain_number(s).is_not_null().alias("num"),
    ).sort(["n", "h"], descending=[True, False])
    bad = None
    if frame.get_column("num").any():  # confirm the cast with the regex, on candidates only
        cand = frame.filter(pl.col("num"))
        ok = cand.select(s.str.contains(shapes.NUMERIC_RE)).to_series()
        if not ok.all():
            bad = cand.get_column("v").filter(~ok)
            frame = frame.with_columns(pl.col("num") & ~v.is_in(bad.implode()))
    return _Distinct(frame, bad)


def _add_hashes(sk: ColumnSketch, d: _Distinct) -> None:
    """Distinct hashes into the HLL; the chunk's most frequent hashes into the frequent sketch."""
    hashes = d.frame.get_column("h").reinterpret(signed=True)
    counts = d.frame.get_column("n")
    sk.dup_seen = bool(counts[0] > 1)
    hll = ds.hll_sketch(HLL_LG_K, HLL_TYPE)
    update = hll.update
    for h in hashes.to_list():
        update(h)
    sk._hll = hll
    freq = ds.frequent_strings_sketch(FREQ_LG_MAX_MAP)
    for h, n in zip(hashes.head(FREQ_FEED).to_list(), counts.head(FREQ_FEED).to_list(),
                    strict=True):
        freq.update(f"{h & 0xFFFF_FFFF_FFFF_FFFF:016x}", n)
    sk._freq = freq


def _add_numbers(sk: ColumnSketch, series: pl.Series, d: _Distinct) -> None:
    """Numeric values, in row order: moments, coarsened range, histogram, order segment."""
    if d.numeric.height == 0:
        return
    v = pl.col("v")
    x = shapes.plain_number(shapes.stripped(v))
    if d.bad is not None:  # cast-able values that are not plain numbers: null them by value
        x = pl.when(v.is_in(d.bad.implode())).then(None).otherwise(x)
    values = series.to_frame("v").select(x).to_series().drop_nulls().to_numpy()
    if values.size == 0:
        return
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


def _sample(text: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, int]:
    """The non-numeric distinct values whose regexes run, their weights, and how many
    rows are estimated (0: every value runs, the result is exact)."""
    counts = text.get_column("n").to_numpy().astype(np.float64)
    if text.height <= SHAPE_SAMPLE:
        return text, counts, 0
    heavy = text.head(SHAPE_HEAVY)  # already most frequent first
    tail = text.slice(SHAPE_HEAVY)
    picked = tail.sort("h").head(SHAPE_SAMPLE - SHAPE_HEAVY)  # bottom-k by hash
    tail_rows = float(tail.get_column("n").sum())
    picked_rows = picked.get_column("n").to_numpy().astype(np.float64)
    scale = tail_rows / float(picked_rows.sum())  # ratio estimator: totals stay exact
    weights = np.concatenate([counts[:SHAPE_HEAVY], picked_rows * scale])
    return pl.concat([heavy, picked]), weights, int(tail_rows)


def _add_shapes(pending: list[tuple[ColumnSketch, _Distinct]]) -> None:
    """Shape counts and text-count moments of every column, one polars select for the
    regex work of all columns."""
    if not pending:
        return
    v = pl.col("v")
    num_parts, text_parts, text_weights = [], [], []
    for i, (sk, d) in enumerate(pending):
        num_parts.append(d.numeric.select(pl.lit(i, pl.UInt32).alias("col"), "v", "n"))
        picked, weights, estimated = _sample(d.text)
        sk.estimated_rows = estimated
        text_parts.append(picked.select(pl.lit(i, pl.UInt32).alias("col"), "v"))
        text_weights.append(weights)
    nums = pl.concat(num_parts).select(
        "col", "n", v.str.len_chars().alias("len"),
        *(e.alias(k) for k, e in shapes.numeric_value_features(v).items()),
    )
    texts = pl.concat(text_parts).select(
        "col",
        *(e.alias(k) for k, e in shapes.text_shape_masks(v).items()),
        *(e.alias(k) for k, e in shapes.text_counts(v).items()),
    )
    lens = pl.concat([d.frame.select("n", v.str.len_chars().alias("len")) for _, d in pending])
    tw = np.concatenate(text_weights) if text_weights else np.zeros(0)
    ncol, tcol = nums.get_column("col").to_numpy(), texts.get_column("col").to_numpy()
    nw = nums.get_column("n").to_numpy().astype(np.float64)
    nb = np.cumsum([0] + [d.frame.height for _, d in pending])
    len_all = lens.get_column("len").to_numpy().astype(np.float64)
    len_w = lens.get_column("n").to_numpy().astype(np.float64)
    ncols = {k: nums.get_column(k).to_numpy() for k in nums.columns if k not in ("col", "v")}
    tcols = {k: texts.get_column(k).to_numpy() for k in texts.columns if k != "col"}
    for i, (sk, d) in enumerate(pending):
        ni, ti = ncol == i, tcol == i
        wn, wt = nw[ni], tw[ti]
        shape = dict.fromkeys(shapes.SHAPES, 0)
        shape["numeric"] = int(wn.sum())
        shape["int"] = int(wn[ncols["int"][ni]].sum())
        shape["float"] = shape["numeric"] - shape["int"]
        shape["leading_zero"] = int(wn[ncols["leading_zero"][ni]].sum())
        alpha_num = float(wn[ncols["alpha"][ni]].sum())
        for k in shapes.TEXT_SHAPES:
            shape[k] = int(round(float(wt[tcols[k][ti].astype(bool)].sum())))
        shape["alpha"] += int(alpha_num)
        sk.shape = shape
        lw, lv = len_w[nb[i]:nb[i + 1]], len_all[nb[i]:nb[i + 1]]
        sk.len_min, sk.len_max = int(lv.min()), int(lv.max())
        text = {"len": _moments_of(lv, lw)}
        w = np.concatenate([wn, wt])
        per_num = {"word": np.ones(wn.size), "stopword": np.zeros(wn.size),
                   "whitespace": ncols["whitespace"][ni], "delim": ncols["delim"][ni]}
        for k in shapes.TEXT_ONLY_COUNTS:
            vals = np.concatenate([per_num[k].astype(np.float64),
                                   tcols[k][ti].astype(np.float64)])
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
