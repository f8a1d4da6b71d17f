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
import orjson
import polars as pl

from aurora_stream.profile import shapes
from aurora_stream.profile.coarsen import coarsen, coarsen_array
from aurora_stream.profile.hashing import hash_scheme, hash_seed
from aurora_stream.profile.moments import Moments
from aurora_stream.profile.order import Order, Segment
from aurora_stream.profile.view import ProfileView

HLL_LG_K = 12  # 4096 registers: relative standard error ~1.6 %, <= 2.1 KB as HLL_4
HLL_TYPE = ds.HLL_4
FREQ_LG_MAX_MAP = 7  # up to 96 tracked items; error <= 3.5/128 of the non-null count
FREQ_FEED = 512  # per chunk, only the 512 most frequent hashes feed the frequent sketch
KLL_K = 200  # normalized rank error ~1.65 % (single-sided, 99 % confidence)
_QUANTILES = {"q01": 0.01, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q99": 0.99}
_FORMAT = 1
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
        "_hll", "_freq", "_kll",
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
        self._hll: ds.hll_sketch | None = None
        self._freq: ds.frequent_strings_sketch | None = None
        self._kll: ds.kll_doubles_sketch | None = None

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
        out._kll = _copy_sketch(self._kll, ds.kll_doubles_sketch)
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
        if other._kll is not None:
            if self._kll is None:
                self._kll = _copy_sketch(other._kll, ds.kll_doubles_sketch)
            else:
                self._kll.merge(other._kll)

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
            "hll": _b64(self._hll.serialize_compact()) if self._hll is not None else None,
            "freq": _b64(self._freq.serialize()) if self._freq is not None else None,
            "kll": _b64(self._kll.serialize()) if self._kll is not None else None,
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
            if doc["hll"] is not None:
                out._hll = ds.hll_sketch.deserialize(base64.b64decode(doc["hll"]))
            if doc["freq"] is not None:
                out._freq = ds.frequent_strings_sketch.deserialize(base64.b64decode(doc["freq"]))
            if doc["kll"] is not None:
                out._kll = ds.kll_doubles_sketch.deserialize(base64.b64decode(doc["kll"]))
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
        """Quantile of the coarsened numeric values (KLL; None when no numbers)."""
        return self.quantiles([q])[0]

    def quantiles(self, qs: Sequence[float]) -> list[float | None]:
        """Several quantiles at once. Queried on a copy: a KLL query sorts the sketch in
        place, which would change ``to_bytes`` of a sketch that was only read."""
        if self._kll is None or self._kll.is_empty():
            return [None] * len(qs)
        kll = _copy_sketch(self._kll, ds.kll_doubles_sketch)
        return [float(kll.get_quantile(q, inclusive=True)) for q in qs]

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
    """One sketch per column of a chunk (an all-Utf8 frame), vectorized across columns.

    Columns that are not Utf8 are cast to text first (failed cells count as nulls).
    """
    seed = hash_seed()
    scheme = hash_scheme(seed)
    casts = [_as_text(frame.get_column(c)) for c in frame.columns]
    text = pl.DataFrame([s.rename(f"c{i}") for i, (s, _) in enumerate(casts)])
    nums = text.select(shapes.number(pl.col(f"c{i}")).alias(f"n{i}")
                       for i in range(text.width))
    aggs = pl.concat([text, nums], how="horizontal").lazy().select(
        e for i in range(text.width) for e in _aggregates(i)
    ).collect()
    row = aggs.row(0, named=True) if aggs.height else {}
    out = []
    for i, (series, failures) in enumerate(casts):
        sk = _from_aggregates(row, i, series.len())
        sk.cast_failures = failures
        _add_hashes(sk, text.get_column(f"c{i}"), seed, scheme)
        _add_numbers(sk, nums.get_column(f"n{i}"))
        out.append(sk)
    return out


def profile_values(values: Sequence[str | None]) -> ProfileView:
    """One-shot: the view of a whole column given as Python strings (or None)."""
    series = pl.Series("v", [None if v is None else str(v) for v in values], dtype=pl.Utf8)
    return sketch_frame(series.to_frame())[0].view()


# --- helpers -------------------------------------------------------------------------
def _aggregates(i: int) -> list[pl.Expr]:
    c, x = pl.col(f"c{i}"), pl.col(f"n{i}")
    exprs = [c.null_count().alias(f"{i}:nulls")]
    exprs += [m.sum().alias(f"{i}:s:{k}") for k, m in shapes.shape_masks(c).items()]
    counts = shapes.text_counts(c)
    for k, e in counts.items():
        exprs += _moment_exprs(e.cast(pl.Float64), f"{i}:t:{k}")
    exprs += [counts["len"].min().alias(f"{i}:len_min"), counts["len"].max().alias(f"{i}:len_max")]
    exprs += _moment_exprs(x, f"{i}:num")
    exprs += [
        x.min().alias(f"{i}:min"),
        x.max().alias(f"{i}:max"),
        (x < 0).sum().alias(f"{i}:neg"),
        (x == 0).sum().alias(f"{i}:zero"),
    ]
    return exprs


def _moment_exprs(e: pl.Expr, name: str) -> list[pl.Expr]:
    d = e - e.mean()
    return [
        e.count().alias(f"{name}:n"),
        e.mean().alias(f"{name}:mean"),
        (d * d).sum().alias(f"{name}:m2"),
        (d * d * d).sum().alias(f"{name}:m3"),
        (d * d * d * d).sum().alias(f"{name}:m4"),
    ]


def _moments(row: dict, name: str) -> Moments:
    n = row.get(f"{name}:n") or 0
    if not n:
        return Moments()
    rest = (float(row[f"{name}:{k}"] or 0.0) for k in ("mean", "m2", "m3", "m4"))
    return Moments(float(n), *rest)


def _from_aggregates(row: dict, i: int, height: int) -> ColumnSketch:
    sk = ColumnSketch()
    sk.count = height
    sk.nulls = int(row.get(f"{i}:nulls") or 0) if height else 0
    if height == sk.nulls:
        return sk
    sk.shape = {k: int(row[f"{i}:s:{k}"] or 0) for k in shapes.SHAPES}
    sk.text = {k: _moments(row, f"{i}:t:{k}") for k in shapes.TEXT_COUNTS}
    sk.len_min = row[f"{i}:len_min"]
    sk.len_max = row[f"{i}:len_max"]
    sk.num = _moments(row, f"{i}:num")
    if sk.num.n:
        sk.num_min = coarsen(float(row[f"{i}:min"]))
        sk.num_max = coarsen(float(row[f"{i}:max"]))
        sk.negative = int(row[f"{i}:neg"] or 0)
        sk.zero = int(row[f"{i}:zero"] or 0)
    return sk


def _add_hashes(sk: ColumnSketch, series: pl.Series, seed: int, scheme: str) -> None:
    """Distinct hashes into the HLL; the chunk's most frequent hashes into the frequent sketch."""
    present = series.drop_nulls()
    if present.len() == 0:
        return
    sk.scheme = scheme
    counts = (present.hash(seed).reinterpret(signed=True).value_counts(sort=True, name="n"))
    hashes = counts.get_column(counts.columns[0])
    freq_counts = counts.get_column("n")
    sk.dup_seen = bool(freq_counts[0] > 1)
    hll = ds.hll_sketch(HLL_LG_K, HLL_TYPE)
    for h in hashes.to_list():
        hll.update(h)
    sk._hll = hll
    freq = ds.frequent_strings_sketch(FREQ_LG_MAX_MAP)
    for h, n in zip(hashes.head(FREQ_FEED).to_list(), freq_counts.head(FREQ_FEED).to_list(),
                    strict=True):
        freq.update(f"{h & 0xFFFF_FFFF_FFFF_FFFF:016x}", n)
    sk._freq = freq


def _add_numbers(sk: ColumnSketch, numbers: pl.Series) -> None:
    """Coarsened numbers, in row order, into the KLL and the order segment."""
    present = numbers.drop_nulls()
    if present.len() == 0:
        return
    coarse = coarsen_array(present.to_numpy())
    kll = ds.kll_doubles_sketch(KLL_K)
    kll.update(coarse)
    sk._kll = kll
    sk.order = Order(Segment.of(coarse))


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
