"""Seeded generator of realistic labelled synthetic columns, for the shipped prior.

Each column is ``(values, name, feature_type)`` for one of the nine SortingHat types, from
a family of generators per type: ids, numeric-looking codes that are categorical, zip
codes, years, timestamps in many formats, free text, URLs, numbers with units, lists,
constants, near-empty columns, sentinel-coded survey answers... Nulls are injected at a
random rate. Names are drawn from realistic lists and, a third of the time, replaced by
an opaque one (``x12``, ``col_7``) so the prior does not lean on names alone.

``labelled_columns`` adds the transformation and imputation a data scientist would
choose from the column's statistics (``policy.labels_for`` over its live profile).

>>> cols = generate(20, seed=3)
>>> cols == generate(20, seed=3)
True
>>> len({c.feature_type for c in generate(900, seed=1)})
9
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aurora_stream.profile.sketch import profile_values
from aurora_stream.recommend.policy import labels_for

Gen = Callable[[random.Random, int], tuple[list[str], str]]


@dataclass(frozen=True)
class SyntheticColumn:
    values: list[str | None]
    name: str
    feature_type: str


MAX_ROWS = 200
"""Columns stay at most this long: the live profiler's KLL quantile sketch (k=200) is exact,
hence deterministic, only up to 200 numbers, and the prior must build deterministically."""

# --- vocabularies -------------------------------------------------------------------------
WORDS = (
    "data model price market value service quality customer product report system water "
    "energy health school city river house family region policy growth people travel music "
    "food team game season player account network device signal weather station budget "
    "project history science nature power light road vehicle engine income survey answer "
    "great good bad poor excellent service staff room clean friendly location breakfast "
    "delivery order package arrived late early quickly slowly really very quite nice"
).split()
STOP = "the a an of to and in is was for on with at by from that this it as be".split()
COLORS = "red green blue black white yellow orange purple grey brown pink".split()
STATES = "CA NY TX FL WA OR NV AZ CO IL OH GA NC MI PA NJ VA MA".split()
COUNTRIES = (
    "France Germany Spain Italy Brazil Canada Mexico India China Japan Kenya Egypt Peru "
    "Chile Norway Sweden Poland Greece Turkey Vietnam Nigeria Ghana Morocco Nepal Iran"
).split()
CITIES = [a + b for a in ("San", "New", "Port", "Fort", "Lake", "North", "West", "Saint")
          for b in (" Jose", " York", "land", " Worth", "wood", "ville", " Haven", " Paul",
                    " Bay", " Creek", "ton", "field")]
FIRST = "John Mary Ahmed Li Sofia Juan Anna Omar Yuki Priya Lucas Emma Noah Olga Ivan".split()
LAST = "Smith Garcia Chen Kumar Muller Rossi Silva Kim Novak Cohen Okafor Dubois".split()
DOMAINS = ("example.com", "data.gov", "github.com", "wikipedia.org", "amazon.com",
           "news.bbc.co.uk", "imgur.com", "kaggle.com", "twitter.com", "univ.edu")
UNITS = ("kg", "km", "cm", "mm", "lbs", "mph", "GB", "MB", "years", "months", "min", "hrs",
         "mg", "ml", "sq ft", "kW")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
MONTHS_LONG = ("January February March April May June July August September October "
               "November December").split()

NAMES: dict[str, tuple[str, ...]] = {
    "gauss": ("temperature", "score", "height", "weight", "rating_avg", "latitude",
              "longitude", "x", "y", "z", "measurement", "value", "reading", "pressure"),
    "skewed": ("income", "price", "amount", "population", "revenue", "salary", "sales",
               "views", "followers", "area", "duration", "distance", "cost", "total"),
    "counts": ("count", "num_items", "quantity", "visits", "age", "n_children", "likes",
               "enrollment", "votes", "deaths", "cases", "units"),
    "ratio": ("ratio", "rate", "share", "pct", "probability", "fraction", "proportion"),
    "signed": ("change", "balance", "profit", "delta", "growth", "difference", "return"),
    "cat": ("color", "state", "country", "gender", "category", "type", "status", "region",
            "segment", "class", "grade", "department", "city", "brand", "level", "group"),
    "code": ("zip", "zipcode", "postal_code", "area_code", "fips", "code", "product_code",
             "store_no", "station", "district", "sector_code"),
    "flag": ("is_active", "has_children", "smoker", "married", "churn", "default", "flag",
             "approved", "survived", "label", "target", "outcome"),
    "date": ("date", "created_at", "timestamp", "updated", "start_date", "end_date",
             "birth_date", "time", "datetime", "order_date", "last_review", "period"),
    "year": ("year", "yr", "season", "build_year", "year_built", "fiscal_year"),
    "text": ("description", "comment", "review", "text", "notes", "summary", "title",
             "abstract", "feedback", "message", "tweet", "answer", "question", "body"),
    "url": ("url", "link", "website", "homepage", "image_url", "href", "source", "profile"),
    "embedded": ("size", "weight", "capacity", "mileage", "price", "duration", "memory",
                 "dimensions", "salary", "rate", "change", "length", "volume"),
    "list": ("tags", "genres", "categories", "keywords", "authors", "skills", "items",
             "ingredients", "languages", "coordinates", "features", "amenities"),
    "id": ("id", "uuid", "user_id", "customer_id", "order_id", "record_id", "key", "index",
           "row_id", "transaction_id", "hash", "guid", "serial"),
    "personal": ("name", "full_name", "email", "contact", "phone", "owner", "author_name",
                 "username", "address"),
    "junk": ("unnamed", "notes2", "misc", "other", "extra", "field", "col", "tmp"),
    "context": ("q12", "s1p2c4", "v031", "resp_3", "item7", "var14", "c3", "m2_count",
                "wave2", "sec4q3", "fsystem", "weed3", "plot6"),
}


def _name(rng: random.Random, family: str) -> str:
    if rng.random() < 0.3:
        return rng.choice(("x", "col_", "var", "f", "attr", "V", "feature_")) + str(
            rng.randint(1, 60)
        )
    base = rng.choice(NAMES[family])
    r = rng.random()
    if r < 0.2:
        return base.upper()
    if r < 0.35:
        return base.replace("_", " ").title()
    if r < 0.45:
        return f"{base}_{rng.randint(1, 9)}"
    return base


def _fmt_float(rng: random.Random, x: float) -> str:
    return f"{x:.{rng.choice((1, 2, 2, 3, 4))}f}"


# --- numeric ------------------------------------------------------------------------------
def num_gauss(rng: random.Random, n: int) -> tuple[list[str], str]:
    mu, sd, d = rng.uniform(-50, 500), rng.uniform(0.1, 80), rng.choice((1, 2, 3))
    return [f"{rng.gauss(mu, sd):.{d}f}" for _ in range(n)], _name(rng, "gauss")


def num_skewed(rng: random.Random, n: int) -> tuple[list[str], str]:
    mu, s = rng.uniform(1, 10), rng.uniform(0.8, 2.2)
    as_int = rng.random() < 0.5
    vals = [rng.lognormvariate(mu, s) for _ in range(n)]
    return [str(round(v)) if as_int else _fmt_float(rng, v) for v in vals], _name(rng, "skewed")


def num_counts(rng: random.Random, n: int) -> tuple[list[str], str]:
    lam = rng.uniform(20, 3000)
    lo = rng.choice((0, 0, 18))
    out = [str(max(lo, int(rng.gauss(lam, math.sqrt(lam) * rng.uniform(1, 6))))) for _ in range(n)]
    return out, _name(rng, "counts")


def num_ratio(rng: random.Random, n: int) -> tuple[list[str], str]:
    scale = rng.choice((1.0, 100.0))
    a, b = rng.uniform(0.5, 5), rng.uniform(0.5, 5)
    return [_fmt_float(rng, rng.betavariate(a, b) * scale) for _ in range(n)], _name(rng, "ratio")


def num_outliers(rng: random.Random, n: int) -> tuple[list[str], str]:
    mu, sd = rng.uniform(-100, 100), rng.uniform(1, 30)
    out = []
    for _ in range(n):
        x = rng.gauss(mu, sd)
        if rng.random() < 0.02:
            x *= rng.uniform(20, 200) * rng.choice((-1, 1))
        out.append(f"{x:.2f}")
    return out, _name(rng, rng.choice(("signed", "gauss")))


def num_signed_heavy(rng: random.Random, n: int) -> tuple[list[str], str]:
    df = rng.uniform(1.2, 3)
    vals = [rng.gauss(0, 1) / math.sqrt(rng.gammavariate(df / 2, 2 / df)) for _ in range(n)]
    scale = rng.uniform(1, 1000)
    return [f"{v * scale:.2f}" for v in vals], _name(rng, "signed")


# --- categorical --------------------------------------------------------------------------
def _zipf_pick(rng: random.Random, levels: list[str], n: int) -> list[str]:
    s = rng.uniform(0.3, 1.5)
    weights = [1 / (i + 1) ** s for i in range(len(levels))]
    return rng.choices(levels, weights=weights, k=n)


def cat_text(rng: random.Random, n: int) -> tuple[list[str], str]:
    pool = rng.choice((COLORS, STATES, COUNTRIES, CITIES, ["M", "F"], ["Male", "Female"],
                       list("ABCDEF"), ["Low", "Medium", "High"], ["Yes", "No", "Maybe"],
                       ["Urban", "Rural", "Suburban"], ["Gold", "Silver", "Bronze"]))
    k = rng.randint(2, len(pool))
    return _zipf_pick(rng, rng.sample(pool, k), n), _name(rng, "cat")


def cat_high_card(rng: random.Random, n: int) -> tuple[list[str], str]:
    k = rng.randint(16, max(17, n // 4))
    levels = [f"{rng.choice(CITIES)} {rng.choice(LAST)}" if rng.random() < 0.5
              else rng.choice(LAST) + rng.choice(("", " Inc", " Ltd", " Co", "son"))
              for _ in range(k)]
    return _zipf_pick(rng, levels, n), _name(rng, "cat")


def cat_int_codes(rng: random.Random, n: int) -> tuple[list[str], str]:
    k = rng.randint(2, 12)
    start = rng.choice((0, 1, 1, 10, 100))
    levels = [str(start + i) for i in range(k)]
    return _zipf_pick(rng, levels, n), _name(rng, rng.choice(("cat", "code", "flag")))


def cat_zip(rng: random.Random, n: int) -> tuple[list[str], str]:
    k = rng.randint(20, 300)
    width = rng.choice((5, 5, 3, 4))
    levels = [str(rng.randint(0, 10**width - 1)).zfill(width) for _ in range(k)]
    return _zipf_pick(rng, levels, n), _name(rng, "code")


def cat_bool(rng: random.Random, n: int) -> tuple[list[str], str]:
    pair = rng.choice((("True", "False"), ("true", "false"), ("Y", "N"), ("yes", "no"),
                       ("0", "1"), ("T", "F")))
    p = rng.uniform(0.05, 0.95)
    return [pair[0] if rng.random() < p else pair[1] for _ in range(n)], _name(rng, "flag")


def cat_alnum_codes(rng: random.Random, n: int) -> tuple[list[str], str]:
    k = rng.randint(3, 60)
    pre = rng.choice(("", "".join(rng.choices(string.ascii_uppercase, k=2))))
    sep = rng.choice(("", "-", "."))
    levels = [f"{pre}{sep}{''.join(rng.choices(string.ascii_uppercase, k=rng.randint(1, 3)))}"
              for _ in range(k)]
    return _zipf_pick(rng, levels, n), _name(rng, "cat")


# --- datetime -----------------------------------------------------------------------------
_DATE_FORMATS: tuple[Callable[[int, int, int, int, int, int], str], ...] = (
    lambda y, m, d, H, M, S: f"{y:04d}-{m:02d}-{d:02d}",
    lambda y, m, d, H, M, S: f"{m}/{d}/{y % 100:02d}",
    lambda y, m, d, H, M, S: f"{m}/{d}/{y}",
    lambda y, m, d, H, M, S: f"{d:02d}/{m:02d}/{y}",
    lambda y, m, d, H, M, S: f"{d:02d}.{m:02d}.{y}",
    lambda y, m, d, H, M, S: f"{y:04d}-{m:02d}-{d:02d} {H:02d}:{M:02d}:{S:02d}",
    lambda y, m, d, H, M, S: f"{y:04d}-{m:02d}-{d:02d}T{H:02d}:{M:02d}:{S:02d}Z",
    lambda y, m, d, H, M, S: f"{y:04d}/{m:02d}/{d:02d} {H % 12 or 12}:{M:02d} "
                             f"{'AM' if H < 12 else 'PM'}",
    lambda y, m, d, H, M, S: f"{MONTHS[m - 1]} {d}, {y}",
    lambda y, m, d, H, M, S: f"{d}-{MONTHS[m - 1]}-{y % 100:02d}",
    lambda y, m, d, H, M, S: f"{MONTHS_LONG[m - 1]} {y}",
    lambda y, m, d, H, M, S: f"{y:04d}-{m:02d}",
)


def dt_dates(rng: random.Random, n: int) -> tuple[list[str], str]:
    fmt = rng.choice(_DATE_FORMATS)
    y0 = rng.randint(1950, 2020)
    span = rng.choice((1, 3, 10, 40))
    out = []
    for _ in range(n):
        y, m, d = y0 + rng.randint(0, span), rng.randint(1, 12), rng.randint(1, 28)
        out.append(fmt(y, m, d, rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)))
    return out, _name(rng, "date")


def dt_times(rng: random.Random, n: int) -> tuple[list[str], str]:
    ampm = rng.random() < 0.5
    out = []
    for _ in range(n):
        h, m = rng.randint(0, 23), rng.choice((0, 15, 30, 45, rng.randint(0, 59)))
        out.append(f"{h % 12 or 12}:{m:02d} {'AM' if h < 12 else 'PM'}" if ampm
                   else f"{h:02d}:{m:02d}")
    return out, _name(rng, "date")


def dt_years(rng: random.Random, n: int) -> tuple[list[str], str]:
    y0 = rng.randint(1900, 2015)
    span = rng.randint(3, 100)
    return [str(min(y0 + rng.randint(0, span), 2030)) for _ in range(n)], _name(rng, "year")


def dt_epoch(rng: random.Random, n: int) -> tuple[list[str], str]:
    t0 = rng.randint(1_000_000_000, 1_600_000_000)
    ms = rng.random() < 0.3
    vals = sorted(t0 + rng.randint(0, 50_000_000) for _ in range(n))
    return [str(v * 1000 if ms else v) for v in vals], _name(rng, "date")


# --- sentence -----------------------------------------------------------------------------
def _sentence(rng: random.Random, lo: int, hi: int) -> str:
    words = [rng.choice(STOP) if rng.random() < 0.35 else rng.choice(WORDS)
             for _ in range(rng.randint(lo, hi))]
    s = " ".join(words)
    return s[0].upper() + s[1:] + rng.choice((".", ".", "!", "", "?"))


def text_sentences(rng: random.Random, n: int) -> tuple[list[str], str]:
    lo = rng.randint(3, 12)
    hi = lo + rng.randint(2, 40)
    return [_sentence(rng, lo, hi) for _ in range(n)], _name(rng, "text")


def text_titles(rng: random.Random, n: int) -> tuple[list[str], str]:
    return [" ".join(w.title() for w in _sentence(rng, 3, 9).rstrip(".!?").split())
            for _ in range(n)], _name(rng, "text")


# --- url ----------------------------------------------------------------------------------
def url_links(rng: random.Random, n: int) -> tuple[list[str], str]:
    scheme = rng.choice(("https://", "http://", "https://www.", "www."))
    doms = [rng.choice(("", "img.", "cdn.", "en.", "api.")) + d
            for d in rng.sample(DOMAINS, rng.randint(1, 4))]
    depth = rng.randint(0, 6)
    out = []
    for _ in range(n):
        path = "/".join(rng.choice(WORDS) + rng.choice(("", f"-{rng.randint(1, 999)}"))
                        for _ in range(rng.randint(0, depth)))
        tail = rng.choice(
            ("", f"/{rng.randint(1, 99999)}", ".html", ".jpg", f"?id={rng.randint(1, 999)}",
             f"/{rng.getrandbits(64):016x}.png", f"?q={rng.choice(WORDS)}&page={rng.randint(1, 9)}")
        )
        out.append(f"{scheme}{rng.choice(doms)}/{path}{tail}")
    return out, _name(rng, "url")


# --- embedded number ----------------------------------------------------------------------
def emb_units(rng: random.Random, n: int) -> tuple[list[str], str]:
    unit, sep = rng.choice(UNITS), rng.choice((" ", "", " "))
    mu = rng.uniform(1, 500)
    return [f"{abs(rng.gauss(mu, mu / 3)):.{rng.choice((0, 1))}f}{sep}{unit}"
            for _ in range(n)], _name(rng, "embedded")


def emb_money(rng: random.Random, n: int) -> tuple[list[str], str]:
    sign = rng.choice(("$", "€", "£", "USD "))
    mu = rng.uniform(1, 7)
    return [f"{sign}{rng.lognormvariate(mu, 1):,.{rng.choice((0, 2))}f}" for _ in range(n)], \
        _name(rng, "embedded")


def emb_percent(rng: random.Random, n: int) -> tuple[list[str], str]:
    return [f"{rng.uniform(-30, 120):.{rng.choice((0, 1, 2))}f}%" for _ in range(n)], \
        _name(rng, rng.choice(("ratio", "embedded")))


def emb_thousands(rng: random.Random, n: int) -> tuple[list[str], str]:
    euro = rng.random() < 0.4
    out = []
    for _ in range(n):
        v = rng.lognormvariate(rng.uniform(7, 12), 0.8)
        out.append(f"{v:,.1f}".replace(",", " ").replace(".", ",") if euro else f"{v:,.0f}")
    return out, _name(rng, rng.choice(("embedded", "skewed")))


def emb_mixed(rng: random.Random, n: int) -> tuple[list[str], str]:
    kind = rng.randint(0, 3)
    out = []
    for _ in range(n):
        a = rng.randint(1, 99)
        out.append((f"{a} to {a + rng.randint(1, 20)}", f"{a}+", f"<{a}", f"approx. {a}")[kind]
                   if rng.random() < 0.7 else f"{a}-{a + 5}")
    return out, _name(rng, "embedded")


# --- list ---------------------------------------------------------------------------------
def list_items(rng: random.Random, n: int) -> tuple[list[str], str]:
    pool = rng.choice((WORDS, COLORS, COUNTRIES, [w.title() for w in WORDS]))
    style = rng.randint(0, 4)
    out = []
    for _ in range(n):
        items = rng.sample(pool, rng.randint(1, 5))
        out.append((", ".join(items), "|".join(items), ";".join(items), str(items),
                    "[" + ", ".join(f'"{i}"' for i in items) + "]")[style])
    return out, _name(rng, "list")


def list_numbers(rng: random.Random, n: int) -> tuple[list[str], str]:
    k = rng.randint(2, 6)
    out = []
    for _ in range(n):
        nums = ", ".join(f"{rng.uniform(-180, 180):.6f}" for _ in range(k))
        out.append(f"[{nums}]" if rng.random() < 0.8 else f"[[{nums}]]")
    return out, _name(rng, "list")


# --- not generalizable --------------------------------------------------------------------
def ng_serial(rng: random.Random, n: int) -> tuple[list[str], str]:
    start = rng.choice((0, 1, 1000, rng.randint(1, 10**6)))
    return [str(start + i) for i in range(n)], _name(rng, "id")


def ng_uuid(rng: random.Random, n: int) -> tuple[list[str], str]:
    kind = rng.randint(0, 2)
    out = []
    for _ in range(n):
        h = f"{rng.getrandbits(128):032x}"
        out.append((f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}", h[: rng.choice((10, 24))],
                    "".join(rng.choices(string.ascii_uppercase + string.digits, k=8)))[kind])
    return out, _name(rng, "id")


def ng_personal(rng: random.Random, n: int) -> tuple[list[str], str]:
    kind = rng.randint(0, 2)
    out = []
    for i in range(n):
        f, last = rng.choice(FIRST), rng.choice(LAST)
        phone = f"+1 ({rng.randint(200, 999)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        email = f"{f.lower()}.{last.lower()}{i}@{rng.choice(DOMAINS)}"
        out.append((f"{f} {last}", email, phone)[kind])
    return out, _name(rng, "personal")


def ng_constant(rng: random.Random, n: int) -> tuple[list[str], str]:
    v = rng.choice(("0", "1", "N", "USA", "2019", "NA", "yes", "IT.MLT.MAIN.P2"))
    return [v] * n, _name(rng, rng.choice(("junk", "cat", "context")))


def ng_near_empty(rng: random.Random, n: int) -> tuple[list[str | None], str]:
    keep = max(1, int(n * rng.uniform(0.0, 0.02)))
    vals: list[str | None] = [None] * n
    for i in rng.sample(range(n), keep):
        vals[i] = rng.choice(("1", "2", "0", "x", rng.choice(WORDS)))
    return vals, _name(rng, rng.choice(("junk", "context", "cat")))


# --- context specific ---------------------------------------------------------------------
def cs_survey(rng: random.Random, n: int) -> tuple[list[str | None], str]:
    k = rng.randint(3, 40)
    codes = [str(c) for c in rng.sample(range(0, 500), k)] + ["-999", "99", "-1", "."][
        : rng.randint(0, 3)]
    vals: list[str | None] = list(_zipf_pick(rng, codes, n))
    miss = rng.uniform(0.2, 0.95)
    return [None if rng.random() < miss else v for v in vals], _name(rng, "context")


def cs_sentinel(rng: random.Random, n: int) -> tuple[list[str], str]:
    sentinel = rng.choice(("-999", "9999", "-1", "999999", "0"))
    mu = rng.uniform(5, 3000)
    return [sentinel if rng.random() < rng.uniform(0.05, 0.4) else str(int(abs(rng.gauss(mu, mu))))
            for _ in range(n)], _name(rng, "context")


def cs_expressions(rng: random.Random, n: int) -> tuple[list[str], str]:
    k = rng.randint(2, 8)
    levels = [f"{rng.choice(('num', 'x', 'val'))}{rng.choice(('%', '>', '<', '=='))}"
              f"{rng.randint(1, 9)} {rng.choice(('==', '>', 'and'))} {rng.randint(0, 5)}"
              for _ in range(k)]
    return _zipf_pick(rng, levels, n), _name(rng, "context")


def cs_index_like(rng: random.Random, n: int) -> tuple[list[str], str]:
    reps = rng.randint(2, 20)
    return [str(i // reps) for i in range(n)], _name(rng, "context")


GENERATORS: dict[str, tuple[Gen, ...]] = {
    "numeric": (num_gauss, num_skewed, num_counts, num_ratio, num_outliers, num_signed_heavy),
    "categorical": (cat_text, cat_high_card, cat_int_codes, cat_zip, cat_bool, cat_alnum_codes),
    "datetime": (dt_dates, dt_dates, dt_times, dt_years, dt_epoch),
    "sentence": (text_sentences, text_sentences, text_titles),
    "url": (url_links,),
    "embedded-number": (emb_units, emb_money, emb_percent, emb_thousands, emb_mixed),
    "list": (list_items, list_numbers),
    "not-generalizable": (ng_serial, ng_uuid, ng_personal, ng_constant, ng_near_empty),
    "context-specific": (cs_survey, cs_sentinel, cs_expressions, cs_index_like),
}
# roughly the label mix of real CSV files (SortingHat's class shares), flattened a little
TYPE_WEIGHTS: dict[str, float] = {
    "numeric": 0.27, "categorical": 0.22, "datetime": 0.09, "sentence": 0.06, "url": 0.04,
    "embedded-number": 0.08, "list": 0.06, "not-generalizable": 0.12, "context-specific": 0.06,
}


def _with_nulls(rng: random.Random, values: list[str | None]) -> list[str | None]:
    r = rng.random()
    rate = 0.0 if r < 0.55 else rng.uniform(0.0, 0.3) if r < 0.9 else rng.uniform(0.3, 0.9)
    return [None if rate and rng.random() < rate else v for v in values]


def generate(n_columns: int, seed: int = 0) -> list[SyntheticColumn]:
    """``n_columns`` labelled columns, identical for identical arguments."""
    return list(iter_columns(n_columns, seed))


def iter_columns(n_columns: int, seed: int = 0) -> Iterator[SyntheticColumn]:
    rng = random.Random(seed)
    types = list(TYPE_WEIGHTS)
    weights = [TYPE_WEIGHTS[t] for t in types]
    for _ in range(n_columns):
        t = rng.choices(types, weights=weights)[0]
        gen = rng.choice(GENERATORS[t])
        n = int(math.exp(rng.uniform(math.log(30), math.log(MAX_ROWS))))
        values, name = gen(rng, n)
        vals: list[str | None] = list(values)
        if gen not in (ng_near_empty, cs_survey):
            vals = _with_nulls(rng, vals)
        yield SyntheticColumn(vals, name, t)


def labelled_columns(
    n_columns: int, seed: int = 0
) -> Iterator[tuple[list[str | None], str, dict[str, str]]]:
    """``(values, name, labels)`` with all three targets (type, transformation, imputation)."""
    for c in iter_columns(n_columns, seed):
        yield c.values, c.name, labels_for(c.feature_type, profile_values(c.values))
