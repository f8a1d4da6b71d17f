"""Issue 13's acceptance re-test: bad inputs against the CURRENT code, as a reproducible harness.

    .venv/bin/python bench/adversarial.py [--quick] [--only events,files,cli,state,faults]

Four kinds of attack, each on real processes (no mocks):

- events: hostile and malformed events, signed with a real credential of a fresh home (header
  ``aurora-token``, as our clients sign), plus unsigned and forged ones, on
  aurora.csv-chunks, aurora.column-chunks, aurora.column-profiles and aurora.corrections of a
  running ``aurora up``; a good file follows every bad event, and every good one must be
  fully answered (one recommendation per column).
- files: bad files through ``aurora run`` (one process each, ``timeout`` and ``prlimit --as``).
- cli / state: bad CLI and AURORA_* values, corrupted or hostile AURORA_HOME contents.
- faults: SIGKILLs, concurrency, Redis killed, a worker SIGKILLed mid-file, a full disk.

Counted per input: answered-or-dead-lettered correctly; crash (a traceback, a dead agent,
an exit without a one-line error); hang (no result within the timeout); lost (a good input
that never got its answer); duplicated (a correction applied twice). Every process it starts
is its own process group and is killed by its pid; every temporary directory is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gzip
import hashlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
AURORA = str(Path(sys.executable).with_name("aurora"))
CLEAN = ROOT / "examples" / "clean.csv"
CANARY = "CANARYzq81"  # planted in bad events: must never reach a topic after the parse stage
QUICK = False
TMP = Path(tempfile.mkdtemp(prefix="aurora-adv-"))


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------ results
@dataclass
class Result:
    category: str
    name: str
    ok: bool = False
    crash: int = 0
    hang: int = 0
    lost: int = 0
    dup: int = 0
    note: str = ""
    bad_input: bool = True  # False: a good control input (counted only as lost or not)


RESULTS: list[Result] = []


def record(r: Result) -> Result:
    RESULTS.append(r)
    mark = "ok " if r.ok else "BAD"
    extra = "".join(f" {k}={v}" for k, v in (("crash", r.crash), ("hang", r.hang),
                                            ("lost", r.lost), ("dup", r.dup)) if v)
    say(f"  {mark} {r.category}/{r.name}{extra}{(': ' + r.note) if r.note else ''}")
    return r


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURORA_")}
    env.update({"AURORA_HOME": str(home), "AURORA_LOG_LEVEL": "ERROR", "PYTHONUNBUFFERED": "1",
                "AURORA_BROKER_KIND": "tansu"})
    env.update(extra)
    return env


@dataclass
class Proc:
    rc: int | None  # None: timed out (killed)
    out: str
    err: str
    seconds: float


def run_cli(args: list[str], home: Path, timeout: float = 120, cap: bool = True,
            stdin: bytes | None = None, **env: str) -> Proc:
    """One ``aurora`` process in its own group, under a timeout and an address-space cap."""
    cmd = (["prlimit", "--as=6000000000", "--"] if cap else []) + [AURORA, *args]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                         env=env_for(home, **env), start_new_session=True, cwd=ROOT)
    try:
        out, err = p.communicate(stdin, timeout=timeout)
        rc: int | None = p.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        rc = None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)  # nothing of it may stay behind
    return Proc(rc, out.decode(errors="replace"), err.decode(errors="replace"),
                time.monotonic() - t0)


def one_line_error(p: Proc) -> tuple[bool, str]:
    """(True, '') when stderr is a clean refusal: no traceback, one 'error:' line."""
    if "Traceback (most recent call last)" in p.err:
        return False, "traceback: " + _last_line(p.err)
    lines = [ln for ln in p.err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    if not errors and len(lines) != 1:
        return False, f"no error line (stderr: {_last_line(p.err)!r})"
    return True, ""


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:200]


def json_recs(text: str) -> list[dict]:
    out = []
    for ln in text.splitlines():
        ln = ln.strip()
        if ln.startswith("{"):
            with contextlib.suppress(orjson.JSONDecodeError):
                out.append(orjson.loads(ln))
    return out


def model_version(home: Path, user: str, **env: str) -> str:
    """The serving model version of ``user`` as ``aurora rules`` prints it."""
    p = run_cli(["rules", "--user", user], home, timeout=60, **env)
    m = re.search(r"model serving \S+: (\S+)", p.err)
    return m.group(1) if m else f"? rc={p.rc} {_last_line(p.err)}"


def n_applied(version: str) -> int:
    """How many corrections a ``user:U@vN`` version says were applied (0 for the prior)."""
    m = re.search(r"@v(\d+)", version)
    return int(m.group(1)) if m else 0


# ------------------------------------------------------------------------------ aurora up
class Up:
    """``aurora up`` on a home, as a child process of its own group."""

    def __init__(self, home: Path, **env: str) -> None:
        self.home = home
        self.env = env
        self.log = home.parent / f"{home.name}-up-{time.time_ns()}.log"
        self.proc: subprocess.Popen | None = None
        self.bootstrap = ""

    def start(self, timeout: float = 90) -> Up:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([AURORA, "up"], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL,
                                         env=env_for(self.home, **self.env),
                                         start_new_session=True, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"ready: broker (\S+)", self.text())
            if m:
                self.bootstrap = m.group(1)
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"aurora up exited: {self.text()[-2000:]}")
            time.sleep(0.2)
        self.kill()
        raise RuntimeError("aurora up not ready")

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def crashes(self) -> int:
        t = self.text()
        return t.count("Traceback (most recent call last)") + t.count("Crashed reason")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30) -> int | None:
        if not self.alive():
            return self.proc.returncode if self.proc else None
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


# ------------------------------------------------------------------------------ events
GOOD_CSV = "id,name,price\n" + "".join(f"{i},n{i % 7},{i * 1.5}\n" for i in range(50))
BODY = GOOD_CSV.split("\n", 1)[1]


def chunk(ds: str, **kw: Any) -> dict:
    return {"v": 1, "dataset_id": ds, "user_id": "ana", "seq": 0, "last": True,
            "first_line": 1, "data": GOOD_CSV, **kw}


def body_chunk(ds: str, seq: int, last: bool, **kw: Any) -> dict:
    return chunk(ds, seq=seq, last=last, columns=["id", "name", "price"], data=BODY,
                 first_line=min(2 + 50 * seq, 10**9), **kw)


_SKETCH: dict | None = None


def sketch_doc() -> dict:
    global _SKETCH
    if _SKETCH is None:
        import polars as pl

        from aurora_stream.profile.sketch import sketch_frame
        _SKETCH = orjson.loads(sketch_frame(pl.DataFrame(
            {"0": [f"v{i}" for i in range(300)]}))[0].to_bytes())
    return dict(_SKETCH)


def colchunk(ds: str, sketch: dict | str | None = None, **kw: Any) -> dict:
    s = sketch if isinstance(sketch, str) else base64.b64encode(
        orjson.dumps(sketch if sketch is not None else sketch_doc())).decode()
    return {"v": 1, "dataset_id": ds, "user_id": "ana", "column": 0, "n_columns": 1, "seq": 0,
            "last": True, "sketch": s, "flags": [], "rows_in": 300, "rows_rejected": 0,
            "mode": "edge", **kw}


def forged_blob(b64: str, **bytes_at: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    for pos, val in bytes_at.items():
        raw[int(pos[1:])] = val
    return base64.b64encode(bytes(raw)).decode()


@dataclass
class Ev:
    """One bad (or good) input event: what to send, and how to tell it was dealt with."""

    name: str
    topic: str
    value: bytes | None
    key: bytes | None = None
    headers: Any = "ana"  # a user whose credential signs it, a header list, or None
    ds: str | None = None  # dataset whose recommendations/dead letters answer it
    cid: str | None = None  # correction whose learn event/dead letter answers it
    expect: str = "dl"  # dl | answer | either
    ncols: int | None = None
    col: int | None = None  # answered when this column has its recommendation
    good: bool = False
    then: list[Ev] = field(default_factory=list)  # more events of the same input
    meta: list[tuple[str, int, int]] = field(default_factory=list)


def jdump(doc: Any) -> bytes:
    return orjson.dumps(doc)


class Watch:
    """Group-less readers of the output topics, from the start, kept up to date."""

    TOPICS = ("aurora.recommendations", "aurora.dead-letter", "aurora.learn-events",
              "aurora.refusals", "aurora.column-profiles", "aurora.review-requests")

    def __init__(self, bootstrap: str) -> None:
        from aiokafka import AIOKafkaConsumer
        self.kafka = AIOKafkaConsumer(*self.TOPICS, bootstrap_servers=bootstrap,
                                      group_id=None, auto_offset_reset="earliest",
                                      max_partition_fetch_bytes=32 << 20,
                                      fetch_max_bytes=64 << 20)
        self.recs: dict[str, dict[int, set[str]]] = {}  # ds -> column -> rec ids
        self.rec_events: dict[str, list[dict]] = {}
        self.dls: list[dict] = []
        self.learn: dict[str, list[str]] = {}  # correction id -> kinds
        self.canary_hits: list[str] = []
        self.ours: set[tuple[str, int, int]] = set()  # what the harness itself produced
        self._task: asyncio.Task | None = None

    async def start(self) -> Watch:
        await self.kafka.start()
        self._task = asyncio.ensure_future(self._loop())
        return self

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.kafka.stop()

    async def _loop(self) -> None:
        while True:
            batch = await self.kafka.getmany(timeout_ms=200, max_records=5000)
            for tp, msgs in batch.items():
                for m in msgs:
                    if (tp.topic, tp.partition, m.offset) not in self.ours:
                        self._absorb(tp.topic, m.value)

    def _absorb(self, topic: str, value: bytes | None) -> None:
        if value is None:
            return
        if CANARY.encode() in value:
            self.canary_hits.append(topic)
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            return
        if not isinstance(doc, dict):
            return
        if topic == "aurora.recommendations":
            self.recs.setdefault(str(doc.get("dataset_id")), {}).setdefault(
                int(doc.get("column", -1)), set()).add(str(doc.get("recommendation_id")))
            self.rec_events.setdefault(str(doc.get("dataset_id")), []).append(doc)
        elif topic == "aurora.dead-letter":
            self.dls.append(doc)
        elif topic == "aurora.learn-events":
            self.learn.setdefault(str(doc.get("correction_id")), []).append(str(doc["kind"]))

    # -- verdicts
    def answered(self, ds: str, ncols: int | None = None) -> bool:
        cols = self.recs.get(ds, {})
        if not cols:
            return False
        n = ncols or max(int(e.get("n_columns", 1)) for e in self.rec_events[ds])
        return all(c in cols for c in range(n))

    def letters(self, ev: Ev) -> list[dict]:
        out = []
        for d in self.dls:
            key = str(d.get("key") or "")
            src = (d.get("source_topic"), d.get("source_partition"), d.get("source_offset"))
            if src in ev.meta or (ev.ds and key.rsplit(":", 1)[0] in (ev.ds,)) or (
                    ev.ds and key == ev.ds) or (
                    ev.cid and ev.cid in str(d.get("event") or "")):
                out.append(d)
        return out

    def applied(self, cid: str) -> int:
        return self.learn.get(cid, []).count("applied")

    def recs_of(self, ds: str) -> list[dict]:
        return self.rec_events.get(ds, [])


class EventLab:
    """``aurora up`` on a fresh home, credentials of ana, bob and (revoked) carol."""

    def __init__(self) -> None:
        self.home = TMP / "events-home"
        self.up = Up(self.home, AURORA_CHUNK_TIMEOUT="4", AURORA_LOG_LEVEL="WARNING")
        self.tokens: dict[str, str] = {}

    async def __aenter__(self) -> EventLab:
        from aiokafka import AIOKafkaProducer

        from aurora_stream.config import Settings
        from aurora_stream.identity.credentials import credential_for
        self.home.mkdir(parents=True, exist_ok=True)
        os.environ["AURORA_HOME"] = str(self.home)
        settings = Settings.from_env(home=self.home)
        self.settings = settings
        for u in ("ana", "bob", "carol"):
            self.tokens[u] = credential_for(settings, u, issue=True)
        subprocess.run([AURORA, "users", "revoke", "carol"], env=env_for(self.home),
                       capture_output=True, check=True)
        import jwt

        from aurora_stream.identity.tokens import signing_key, unverified_claims
        claims = unverified_claims(self.tokens["ana"])  # ana's registered jti, expired an
        claims["exp"] = int(time.time()) - 3600  # hour ago (beyond the verifier's leeway)
        self.tokens["expired"] = jwt.encode(claims, signing_key(settings), algorithm="EdDSA")
        await asyncio.to_thread(self.up.start)
        self.kafka = AIOKafkaProducer(bootstrap_servers=self.up.bootstrap,
                                      max_request_size=64 << 20, acks="all")
        await self.kafka.start()
        self.watch = await Watch(self.up.bootstrap).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.watch.stop()
        with contextlib.suppress(Exception):
            await self.kafka.stop()
        self.rc = self.up.stop()

    def headers(self, spec: Any) -> list[tuple[str, bytes]] | None:
        if spec is None:
            return None
        if isinstance(spec, str):
            return [("aurora-token", self.tokens[spec].encode())]
        return spec

    async def send(self, ev: Ev) -> None:
        for e in (ev, *ev.then):
            md = await self.kafka.send_and_wait(e.topic, e.value, key=e.key,
                                                headers=self.headers(e.headers))
            ev.meta.append((e.topic, md.partition, md.offset))
            self.watch.ours.add((e.topic, md.partition, md.offset))

    async def good_file(self) -> Ev:
        ds = f"good-{uuid.uuid4().hex[:10]}"
        ev = Ev("good-file", "aurora.csv-chunks", jdump(chunk(ds)), ds.encode(), ds=ds,
                expect="answer", ncols=3, good=True)
        await self.send(ev)
        return ev

    async def a_recommendation(self, user: str = "ana") -> dict:
        ds = f"base-{uuid.uuid4().hex[:10]}"
        await self.send(Ev("base", "aurora.csv-chunks", jdump(chunk(ds, user_id=user)),
                           ds.encode(), headers=user))
        deadline = time.monotonic() + 60
        while not self.watch.answered(ds, 3) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        recs = sorted(self.watch.recs_of(ds), key=lambda r: r["column"])
        if not recs:
            raise RuntimeError("no base recommendation")
        return recs[0]

    def verdict(self, ev: Ev) -> tuple[bool, bool, str]:
        """(resolved, correct, note) of one input."""
        w = self.watch
        dls = w.letters(ev)
        if ev.cid:
            applied = w.applied(ev.cid)
            answered = bool(w.learn.get(ev.cid))
        elif ev.col is not None:
            applied = 0
            answered = ev.col in w.recs.get(str(ev.ds), {})
        else:
            applied = 0
            answered = bool(ev.ds) and w.answered(ev.ds, ev.ncols)
        resolved = answered or bool(dls)
        reasons = [str(d.get("reason") or "") for d in dls]
        if "bob must get no recommendation" in ev.name and ev.ds and any(
                r.get("user_id") == "bob" for r in w.recs_of(ev.ds)):
            return resolved, False, "a recommendation was issued to bob for ana's file"
        if dls and not all(reasons):
            return resolved, False, "a dead letter without a reason"
        if ev.expect == "dl" and not dls:
            what = f"applied ({w.learn.get(ev.cid)})" if ev.cid and answered else (
                "answered" if answered else "nothing")
            return resolved, False, f"expected a dead letter, got {what}"
        if ev.expect == "dl" and ev.cid and applied:
            return resolved, False, f"dead-lettered but also applied {applied}x"
        if ev.expect == "answer" and not answered:
            return resolved, False, "expected an answer" + (f"; DL: {reasons[0][:120]}"
                                                            if reasons else "")
        return resolved, True, (reasons[0][:100] if reasons and not answered else "")

    async def run(self, category: str, cases: list[Ev], timeout: float = 45) -> None:
        """Send each bad event followed by a good file; wait until each is resolved."""
        before = self.up.crashes()
        goods: list[Ev] = []
        for ev in cases:
            try:
                await self.send(ev)
            except Exception as exc:  # the broker itself refused it: nothing to answer
                ev.expect = "producer-refused"
                ev.name += f" (producer: {type(exc).__name__})"
            goods.append(await self.good_file())
        deadline = time.monotonic() + timeout
        pending = [e for e in cases if e.expect != "producer-refused"] + goods
        while time.monotonic() < deadline:
            if all(self.verdict(e)[0] for e in pending):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.5)  # late duplicates / extra dead letters
        crashes = self.up.crashes() - before
        dead = 0 if self.up.alive() else 1
        for ev in cases:
            if ev.expect == "producer-refused":
                record(Result(category, ev.name, ok=True, note="refused by the producer"))
                continue
            resolved, correct, note = self.verdict(ev)
            dup = max(0, self.watch.applied(ev.cid) - 1) if ev.cid else 0
            record(Result(category, ev.name, ok=correct and resolved and not dup,
                          hang=0 if resolved else 1, dup=dup, note=note))
        lost = sum(not self.verdict(g)[1] for g in goods)
        record(Result(category, f"good files after each bad one ({len(goods)})",
                      ok=lost == 0, lost=lost, crash=crashes + dead, bad_input=False,
                      note=(f"{crashes} traceback(s)/crash(es) in the worker log"
                            if crashes else "") + ("; aurora up died" if dead else "")))


def csv_cases(lab: EventLab) -> list[Ev]:
    T = "aurora.csv-chunks"
    cases: list[Ev] = []

    def ds() -> str:
        return f"c-{uuid.uuid4().hex[:10]}"

    def add(name: str, doc: Any, expect: str = "dl", *, raw: bytes | None = None,
            headers: Any = "ana", d: str | None = None, then: list[Ev] | None = None) -> None:
        d = d or (doc.get("dataset_id") if isinstance(doc, dict) else None) or ds()
        value = raw if raw is not None else jdump(doc)
        cases.append(Ev(name, T, value, d.encode(), headers=headers, ds=d, expect=expect,
                        then=then or []))

    for name, raw in (("not JSON", b"{not json"), ("JSON array", b"[1,2]"),
                      ("JSON string", b'"x"'), ("JSON null", b"null"),
                      ("tombstone", None), ("invalid UTF-8", b'\xff\xfe{"v":1}'),
                      ("empty object", b"{}")):
        d = ds()
        cases.append(Ev(name, T, raw, d.encode(), ds=d))
    add("v=2", chunk(ds(), v=2))
    add("v='1'", chunk(ds(), v="1"))
    add("seq=-1", chunk(ds(), seq=-1))
    add("seq=1.5", chunk(ds(), seq=1.5))
    add("seq='0'", chunk(ds(), seq="0"))
    add("seq=2^63 last", body_chunk(ds(), 2**63 - 1, True))
    add("seq=1e6 last, no predecessors", body_chunk(ds(), 10**6, True))
    add("seq=3 alone (predecessors never come)", body_chunk(ds(), 3, False))
    add("seq=2^64 (float in JSON)", chunk(ds()), raw=jdump(chunk("x"))
        .replace(b'"seq":0', b'"seq":18446744073709551616'))
    cases[-1].value = cases[-1].value.replace(b'"x"', f'"{cases[-1].ds}"'.encode())
    add("first_line=0", chunk(ds(), first_line=0))
    add("first_line=-5", chunk(ds(), first_line=-5))
    add("data=123", chunk(ds(), data=123))
    add("dataset_id 300 chars", chunk("d" * 300), d="d" * 300)
    add("dataset_id empty", chunk(""), d="")
    d1 = f"x:{uuid.uuid4().hex[:6]}:0"
    add("dataset_id with colons", chunk(d1), "either", d=d1)
    add("user_id bob signed by ana", chunk(ds(), user_id="bob"))
    add("unsigned", chunk(ds()), headers=None)
    add("token garbage", chunk(ds()), headers=[("aurora-token", b"garbage.token.here")])
    add("token empty", chunk(ds()), headers=[("aurora-token", b"")])
    add("token 1 MB", chunk(ds()), headers=[("aurora-token", b"A" * (1 << 20))])
    add("token of revoked carol", chunk(ds(), user_id="carol"), headers="carol")
    add("token expired", chunk(ds()), headers="expired")
    add("token alg none", chunk(ds()), headers=[("aurora-token", _alg_none("ana"))])
    add("token of another key", chunk(ds()), headers=[("aurora-token", _other_key("ana"))])
    add("token HS256 with the public key", chunk(ds()),
        headers=[("aurora-token", _hs256_pub(lab, "ana"))])
    # conflicting / out-of-order end markers
    d2 = ds()
    add("last on seq 0 and seq 1", body_chunk(d2, 0, True), d=d2,
        then=[Ev("", T, jdump(body_chunk(d2, 1, True)), d2.encode())])
    d3 = ds()
    add("seq 2 then last on seq 0", body_chunk(d3, 2, False), d=d3,
        then=[Ev("", T, jdump(body_chunk(d3, 0, True)), d3.encode())])
    d4 = ds()
    add("same chunk twice", chunk(d4), "answer", d=d4,
        then=[Ev("", T, jdump(chunk(d4)), d4.encode())])
    d5 = ds()
    add("dataset id re-used by another file", chunk(d5), d=d5,
        then=[Ev("", T, jdump(chunk(d5, data=GOOD_CSV.replace("n1,", "zz,"))), d5.encode())])
    d6 = ds()
    add("bob re-publishes ana's file under her dataset id", chunk(d6), "either", d=d6,
        then=[Ev("", T, jdump(chunk(d6, user_id="bob")), d6.encode(), headers="bob")])
    cases[-1].name += " (bob must get no recommendation)"
    add("columns wider than the data", chunk(ds(), columns=["a", "b", "c", "d", "e"], data=BODY,
                                                first_line=2), "either")
    add("columns narrower than the data", chunk(ds(), columns=["a"], data=BODY, first_line=2),
        "either")
    add("columns ints", chunk(ds(), columns=[1, 2, 3], data=BODY, first_line=2))
    add("2000 columns of 2000-char names", chunk(ds(), columns=[f"{CANARY}{i}" + "n" * 2000
                                                               for i in range(3)],
                                                 data=BODY, first_line=2), "either")
    for name, dialect in (("delimiter ''", {"delimiter": ""}),
                          ("delimiter 'ab'", {"delimiter": "ab"}),
                          ("delimiter 5", {"delimiter": 5}),
                          ("delimiter == quotechar", {"delimiter": ",", "quotechar": ","}),
                          ("encoding rot-nope", {"encoding": "rot-nope"}),
                          ("escapechar 2 chars", {"escapechar": "\\\\"}),
                          ("comment newline", {"comment": "\n"}),
                          ("skip_lines 1e9", {"skip_lines": 10**9}),
                          ("dialect a list", [1, 2])):
        add(f"dialect {name}", chunk(ds(), dialect=dialect), "either")
    add("decode_errors ['x']", chunk(ds(), decode_errors=["x"]))
    add("decode_errors [-1, 1e12]", chunk(ds(), decode_errors=[-1, 10**12]), "either")
    add("oversize [[1,-5]]", chunk(ds(), oversize=[[1, -5]]), "either")
    add("oversize [[0]]", chunk(ds(), oversize=[[0]]), "either")
    add(f"extra property named {CANARY}", chunk(ds(), **{f"{CANARY}_prop": 1}))
    add("NUL and control bytes in data", chunk(ds(), data=GOOD_CSV.replace("n3", "n\x00\x01\x1b3")),
        "either")
    add("one 20 MB chunk", chunk(ds(), data="id,t\n" + "".join(
        f"{i},{'x' * 200}\n" for i in range(100_000))), "either")
    add("3000 columns in one chunk", chunk(ds(), data=",".join(f"c{i}" for i in range(3000))
                                           + "\n" + ",".join("1" for _ in range(3000)) + "\n"),
        "either")
    return cases


def _alg_none(sub: str) -> bytes:
    def b64(d: dict) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(d)).rstrip(b"=").decode()
    now = int(time.time())
    return (b64({"alg": "none", "typ": "JWT"}) + "." + b64(
        {"sub": sub, "iat": now, "exp": now + 3600, "jti": uuid.uuid4().hex,
         "aud": "aurora"}) + ".").encode()


def _other_key(sub: str) -> bytes:
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + 3600, "jti": uuid.uuid4().hex,
                       "aud": "aurora"}, Ed25519PrivateKey.generate(),
                      algorithm="EdDSA").encode()


def _hs256_pub(lab: EventLab, sub: str) -> bytes:
    import hmac
    pub = (lab.home / "identity" / "signing.pub").read_bytes()
    now = int(time.time())

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    head = b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    body = b64(orjson.dumps({"sub": sub, "iat": now, "exp": now + 3600,
                             "jti": uuid.uuid4().hex, "aud": "aurora"}))
    sig = b64(hmac.new(pub, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}".encode()


def column_cases(lab: EventLab) -> list[Ev]:
    T = "aurora.column-chunks"
    cases: list[Ev] = []

    def add(name: str, doc: Any, expect: str = "dl", *, raw: bytes | None = None,
            headers: Any = "ana", then: list[Ev] | None = None) -> None:
        d = doc["dataset_id"] if isinstance(doc, dict) else f"k-{uuid.uuid4().hex[:10]}"
        col = doc.get("column", 0) if isinstance(doc, dict) else 0
        cases.append(Ev(name, T, raw if raw is not None else jdump(doc),
                        f"{d}:{col}".encode(), headers=headers, ds=d, expect=expect,
                        then=then or [], col=col))

    def ds() -> str:
        return f"k-{uuid.uuid4().hex[:10]}"

    sk = sketch_doc()
    add("not JSON", None, raw=b"\x00\x01garbage")
    add("sketch not base64", colchunk(ds(), "%%%not-base64%%%"))
    add("sketch base64 of non-JSON", colchunk(ds(), base64.b64encode(b"\x89PNG").decode()))
    add("sketch format v9", colchunk(ds(), {**sk, "v": 9}))
    add("sketch len ['a','b']", colchunk(ds(), {**sk, "len": ["a", "b"]}))
    add("sketch len [[1],5]", colchunk(ds(), {**sk, "len": [[1], 5]}))
    add("sketch count 10^18", colchunk(ds(), {**sk, "count": 10**18}), "either")
    add("sketch count -5, nulls 10^6", colchunk(ds(), {**sk, "count": -5, "nulls": 10**6}),
        "either")
    add("sketch shape alpha -1e9", colchunk(ds(), {**sk, "shape": {"alpha": -10**9}}),
        "either")
    add("sketch hist forged", colchunk(ds(), {**sk, "hist": [3, [1e308, -1e308],
                                                             [10**15, -10**15]]}), "either")
    add("sketch num moments of strings", colchunk(ds(), {**sk, "num": ["a"] * 5}))
    add("sketch order forged", colchunk(ds(), {**sk, "order": [[1e308] * 8, [[1] * 1000]]}),
        "either")
    add("hll lg_k forged 21", colchunk(ds(), {**sk, "hll": forged_blob(sk["hll"], b3=21)}))
    add("freq lg_map forged 26", colchunk(ds(), {**sk, "freq": forged_blob(sk["freq"], b3=26,
                                                                             b4=26)}))
    add("freq cur > max", colchunk(ds(), {**sk, "freq": forged_blob(sk["freq"], b4=30)}))
    add("hll 4 bytes", colchunk(ds(), {**sk, "hll": base64.b64encode(b"\x03\x01\x07\x0c")
                                       .decode()}), "either")
    add("hll right header, garbage body", colchunk(ds(), {**sk, "hll": base64.b64encode(
        base64.b64decode(sk["hll"])[:8] + os.urandom(4000)).decode()}), "either")
    add("freq truncated", colchunk(ds(), {**sk, "freq": base64.b64encode(
        base64.b64decode(sk["freq"])[:12]).decode()}))
    add("hll 10 MB", colchunk(ds(), {**sk, "hll": base64.b64encode(b"\x03\x01\x07\x0c"
                                                                   + os.urandom(10 << 20))
                                     .decode()}))
    add("sketch scheme of another release", colchunk(ds(), {**sk, "scheme": "nope-9/deadbeef"}),
        "either")
    add("column 7 of n_columns 2", colchunk(ds(), column=7, n_columns=2))
    add("n_columns 0", colchunk(ds(), n_columns=0))
    add("n_columns 10^9", colchunk(ds(), n_columns=10**9), "either")
    add("rows_in -5", colchunk(ds(), rows_in=-5), "either")
    add("rows_rejected 10^12", colchunk(ds(), rows_rejected=10**12), "either")
    add("10,000 junk flags", colchunk(ds(), flags=[f"f{i}" for i in range(10_000)]), "either")
    add(f"flag {CANARY} (a smuggled name)", colchunk(ds(), flags=[f"{CANARY}_name"]), "either")
    add("mode 'weird'", colchunk(ds(), mode="weird"))
    add("seq 2^62 last", colchunk(ds(), seq=2**62), "either")
    d = ds()
    add("last on seq 0 and seq 1", colchunk(d), "either",
        then=[Ev("", T, jdump(colchunk(d, seq=1)), f"{d}:0".encode())])
    add("unsigned", colchunk(ds()), headers=None)
    add("user_id bob signed by ana", colchunk(ds(), user_id="bob"))
    return cases


def profile_cases(lab: EventLab) -> list[Ev]:
    T = "aurora.column-profiles"
    cases: list[Ev] = []

    def prof(ds: str, **kw: Any) -> dict:
        return {"v": 1, "dataset_id": ds, "user_id": "ana", "column": 0, "n_columns": 1,
                "view": {"count": 300.0, "nulls": 0.0, "distinct": 300.0}, "flags": [],
                "rows": 300, "rows_rejected": 0, "chunks": 1, **kw}

    def add(name: str, doc: Any, expect: str = "dl", *, raw: bytes | None = None,
            headers: Any = "ana", user: str = "ana") -> None:
        d = doc["dataset_id"] if isinstance(doc, dict) else f"p-{uuid.uuid4().hex[:10]}"
        cases.append(Ev(name, T, raw if raw is not None else jdump(doc), user.encode(),
                        headers=headers, ds=d, expect=expect))

    def ds() -> str:
        return f"p-{uuid.uuid4().hex[:10]}"

    add("not JSON", None, raw=b"}{")
    add("view strings", prof(ds(), view={"count": "x"}))
    add("view empty", prof(ds(), view={}), "either")
    add("view absurd values", prof(ds(), view={"count": 1e308, "numeric_frac": 5.0,
                                               "distinct": -1.0}), "either")
    add("view 100k keys", prof(ds(), view={f"k{i}": 1.0 for i in range(100_000)}), "either")
    add("column -1", prof(ds(), column=-1))
    add(f"flag {CANARY}", prof(ds(), flags=[CANARY]), "either")
    add("unsigned, claiming ana", prof(ds()), headers=None)
    add("unsigned, claiming alice", prof(ds(), user_id="alice"), headers=None, user="alice")
    add("signed by ana, claiming bob", prof(ds(), user_id="bob"), user="bob")
    return cases


def correction_cases(lab: EventLab, rec: dict, bob_rec: dict) -> list[Ev]:
    from aurora_stream.client.feedback import intent_id
    T = "aurora.corrections"
    cases: list[Ev] = []
    echo = {k: v for k, v in rec.items() if k != "v"}

    def corr(r: dict = echo, **kw: Any) -> dict:
        return {"v": 1, "correction_id": uuid.uuid4().hex, "user_id": r["user_id"],
                "dataset_id": r["dataset_id"], "column": r["column"],
                "recommendation_id": r["recommendation_id"], "accepted": False,
                "recommendation": r, "feature_type": "categorical", "transformation": None,
                "imputation": None, "created_at": time.time(), **kw}

    def add(name: str, doc: Any, expect: str = "dl", *, raw: bytes | None = None,
            headers: Any = "ana", user: str = "ana", then: list[Ev] | None = None) -> None:
        cid = doc["correction_id"] if isinstance(doc, dict) else f"x-{uuid.uuid4().hex}"
        value = raw if raw is not None else jdump(doc)
        cases.append(Ev(name, T, value, user.encode(), headers=headers, cid=cid,
                        expect=expect, then=then or []))

    add("not JSON", None, raw=b"not json at all")
    cases[-1].cid = None
    cases[-1].ds = "__none__"
    add("unknown feature type", corr(feature_type="blob"))
    add("transformation of another type", corr(feature_type="numeric", transformation="one_hot"))
    add("empty echo", corr(recommendation={}))
    add("fingerprint not numeric", corr(recommendation={**echo, "fingerprint": {"a": "x"}}))
    add("correction_id 201 chars", corr(correction_id="c" * 201))
    same = corr(feature_type="url")
    add("same correction id twice (applied once)", same, "answer",
        then=[Ev("", T, jdump(same), b"ana")])
    fake = dict(echo, recommendation_id=uuid.uuid4().hex[:24], dataset_id="no-such-dataset")
    add("made-up recommendation", corr(fake))
    add("edited echo (type changed)", corr({**echo, "feature_type": "url"}))
    add("edited echo (seal removed)", corr({**echo, "seal": None}))
    add("echo with 200k-key fingerprint", corr({**echo, "fingerprint": {
        f"k{i}": 1.0 for i in range(200_000)}}))
    add("user_id bob signed by ana", corr(user_id="bob"), user="bob")
    add("bob signs a correction of ana's rec", corr(user_id="bob"), headers="bob", user="bob")
    add("ana corrects bob's rec", corr({k: v for k, v in bob_rec.items() if k != "v"},
                                       user_id="ana"))
    add("unsigned", corr(), headers=None)
    add("token of revoked carol", corr(user_id="carol"), headers="carol", user="carol")
    add("accepted with fields", corr(accepted=True, feature_type="numeric"), "either")
    add("column differs from echo", corr(column=5))
    add("dataset differs from echo", corr(dataset_id="other-ds"))
    add("recommendation_id differs from echo", corr(recommendation_id="r" * 24))
    add("created_at 1e300", corr(created_at=1e300), "either")
    add("imputation mean on a url type", corr(feature_type="url", imputation="mean"), "either")
    real = corr(correction_id=intent_id("ana", echo["recommendation_id"], False, "sentence",
                                         None, None), feature_type="sentence")
    add("good correction (control)", real, "answer")
    cases[-1].good = True
    return cases


async def events_phase() -> None:
    say("events: aurora up on a fresh home, signed and unsigned hostile events")
    async with EventLab() as lab:
        for category, make in (("events:csv-chunks", csv_cases),
                               ("events:column-chunks", column_cases),
                               ("events:column-profiles", profile_cases)):
            cases = make(lab)
            say(f"{category}: {len(cases)} inputs")
            await lab.run(category, cases)
        rec = await lab.a_recommendation("ana")
        bob_rec = await lab.a_recommendation("bob")
        cases = correction_cases(lab, rec, bob_rec)
        say(f"events:corrections: {len(cases)} inputs")
        await lab.run("events:corrections", cases)
        for r in RESULTS:  # the control correction is a good input: lost if not answered
            if r.category == "events:corrections" and r.name.startswith("good correction"):
                r.bad_input = False
                r.lost = 0 if r.ok else 1
        hits = sorted(set(lab.watch.canary_hits))
        record(Result("events:privacy", "canary in topics after the parse stage",
                      ok=not hits, note=f"found in {hits}" if hits else "",
                      bad_input=False))
    record(Result("events:privacy", "aurora up stops cleanly after all events",
                  ok=lab.rc == 0, crash=0 if lab.rc == 0 else 1, bad_input=False,
                  note=f"rc {lab.rc}"))


# ------------------------------------------------------------------------------ files
@dataclass
class BadFile:
    name: str
    make: Callable[[Path], Path]  # writes the file under a directory, returns its path
    rows: int | None = None  # data records in it (rows in), when known
    cols: int | None = None
    expect: str = "either"  # error | answer | either
    timeout: float = 150
    args: tuple[str, ...] = ()


def _write(name: str, data: bytes | str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        p = d / name
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p
    return make


def _stream(name: str, gen: Callable[[Any], None], opener: Callable = open
            ) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        p = d / name
        with opener(p, "wb") as f:
            gen(f)
        return p
    return make


def file_cases() -> list[BadFile]:
    big = 200 << 20 if not QUICK else 20 << 20
    field_mb = 50 << 20 if not QUICK else 8 << 20
    wide = 20_000 if not QUICK else 3_000
    bomb = 2 << 30 if not QUICK else 512 << 20

    def one_line(f: Any) -> None:
        block = b"a" * (1 << 20)
        for _ in range(big >> 20):
            f.write(block)

    def quoted(f: Any) -> None:
        f.write(b'id,text,n\n1,"')
        u = b'lorem ipsum, ""quoted"" and\nnewline '
        for _ in range(field_mb // len(u)):
            f.write(u)
        f.write(b'",2\n2,"s",6\n')

    def wide_file(f: Any) -> None:
        f.write((",".join(f"c{i}" for i in range(wide)) + "\n").encode())
        for r in range(20):
            f.write((",".join(str((r * 7 + i) % 1000) for i in range(wide)) + "\n").encode())

    def nul_rows(f: Any) -> None:
        f.write(b"a,b,c\n")
        for i in range(1000):
            f.write(f"{i},x\x00y,{i}\n".encode() if i % 10 == 0 else f"{i},xy,{i}\n".encode())

    def mixed(f: Any) -> None:
        f.write(b"name,city\n")
        for i in range(1000):
            f.write(f"caf\u00e9{i},M\u00fcnchen\n".encode())
            f.write(f"caf\u00e9{i},M\u00fcnchen\n".encode("latin-1"))
            f.write(f"\u20ac{i},Gda\u0144sk\n".encode("cp1252", "replace"))
        f.write("x,\u4e2d\u6587\n".encode("utf-16"))

    def bomb_gz(f: Any) -> None:
        z = b"\0" * (1 << 20)
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=1) as g:
            for _ in range(bomb >> 20):
                g.write(z)

    def rows_bomb(f: Any) -> None:  # highly compressible rows: the ratio limit's case
        block = b"1,2,3\n" * (1 << 18)
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9) as g:
            g.write(b"a,b,c\n")
            for _ in range(bomb // len(block)):
                g.write(block)

    def zip_many(d: Path) -> Path:
        p = d / "many.zip"
        with zipfile.ZipFile(p, "w") as z:
            for n in ("a.csv", "b.csv", "c.csv"):
                z.writestr(n, GOOD_CSV)
        return p

    def zip_dir_member(d: Path) -> Path:
        p = d / "dir.zip"
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("sub/", b"")
        return p

    def truncated_gz(d: Path) -> Path:
        raw = gzip.compress(GOOD_CSV.encode() * 200)
        p = d / "trunc.csv.gz"
        p.write_bytes(raw[: len(raw) // 2])
        return p

    def symlink_zero(d: Path) -> Path:
        p = d / "zero.csv"
        p.symlink_to("/dev/zero")
        return p

    def fifo(d: Path) -> Path:
        p = d / "fifo.csv"
        os.mkfifo(p)
        return p

    def directory(d: Path) -> Path:
        p = d / "adir.csv"
        p.mkdir()
        return p

    def dangling(d: Path) -> Path:
        p = d / "dangling.csv"
        p.symlink_to(d / "nowhere")
        return p

    def unreadable(d: Path) -> Path:  # root reads anything: mode 000 is no test; use /proc
        return Path("/proc/self/mem")

    rand = os.urandom(1 << 20)
    return [
        BadFile("empty file", _write("empty.csv", b""), expect="error"),
        BadFile("header only", _write("header.csv", "a,b,c\n"), rows=0, cols=3),
        BadFile("1 MB of random bytes", _write("random.csv", rand)),
        BadFile(f"{big >> 20} MB single line", _stream("line.csv", one_line), timeout=240),
        BadFile(f"{field_mb >> 20} MB quoted field", _stream("field.csv", quoted),
                timeout=240),
        BadFile(f"{wide} columns", _stream("wide.csv", wide_file), rows=20, cols=wide,
                timeout=300 if not QUICK else 150),
        BadFile("NUL bytes in 100 rows", _stream("nul.csv", nul_rows), rows=1000, cols=3),
        BadFile("mixed encodings", _stream("mixed.csv", mixed)),
        BadFile(f"gzip bomb ({bomb >> 20} MiB of zeros)", _stream("bomb.csv.gz", bomb_gz),
                timeout=240),
        BadFile(f"gzip bomb ({bomb >> 20} MiB of short rows)", _stream("rows.csv.gz",
                                                                       rows_bomb),
                timeout=300),
        BadFile("zip with 3 members", zip_many, expect="error"),
        BadFile("zip holding a directory", zip_dir_member, expect="error"),
        BadFile("symlink to /dev/zero", symlink_zero, expect="error"),
        BadFile("FIFO", fifo, expect="error", timeout=60),
        BadFile("directory", directory, expect="error"),
        BadFile("truncated .gz", truncated_gz),
        BadFile("dangling symlink", dangling, expect="error"),
        BadFile("/proc/self/mem", unreadable, expect="error"),
        BadFile("UTF-16 without BOM", _write("u16.csv", "a,b\n1,2\n3,4\n".encode("utf-16-le")),
                rows=2, cols=2),
        BadFile("only blank lines", _write("blank.csv", "\n\n\n\n")),
        BadFile("CR-only line ends", _write("cr.csv", "a,b\r1,2\r3,4\r"), rows=2, cols=2),
        BadFile("bz2 of garbage", _write("junk.csv.bz2", b"BZh9" + rand[:4096])),
        BadFile("zst of garbage", _write("junk.csv.zst", b"\x28\xb5\x2f\xfd" + rand[:4096])),
        BadFile("unterminated quote line 2", _write(
            "quote.csv", "a,b\n1,\"open\n" + "".join(f"{i},x\n" for i in range(2, 5000)))),
        BadFile("stdin of random bytes", lambda d: Path("-"), args=("--stdin-random",)),
    ]


def files_phase() -> None:
    d = TMP / "files"
    d.mkdir()
    home = TMP / "files-home"
    for bf in file_cases():
        say(f"files: {bf.name}")
        path = bf.make(d)
        stdin = rand_bytes(1 << 20) if "--stdin-random" in bf.args else None
        p = run_cli(["run", str(path), "--json", "--timeout", str(int(bf.timeout - 20))],
                    home, timeout=bf.timeout, stdin=stdin)
        record(judge_run(bf, p))
        if path.parent == d and path.is_file() and not path.is_symlink():
            path.unlink()


def rand_bytes(n: int) -> bytes:
    return os.urandom(n)


def judge_run(bf: BadFile, p: Proc, category: str = "files") -> Result:
    r = Result(category, bf.name)
    if p.rc is None:
        r.hang, r.note = 1, f"no result after {p.seconds:.0f}s"
        return r
    clean, why = one_line_error(p) if p.rc != 0 else (True, "")
    if "Traceback (most recent call last)" in p.err:
        r.crash, r.note = 1, why or _last_line(p.err)
        return r
    if p.rc < 0:
        r.crash, r.note = 1, f"killed by signal {-p.rc}: {_last_line(p.err)}"
        return r
    if p.rc in (0, 3):
        recs = json_recs(p.out)
        cols = {x["column_index"] for x in recs if "column_index" in x}
        n = bf.cols or len(cols)
        if not recs or len(cols) != n or len(recs) != len(cols):
            r.note = f"rc {p.rc} but {len(recs)} recommendations for {n} columns"
            return r
        if bf.rows is not None:
            bad = [x for x in recs if x["rows"] + x["rows_rejected"] != bf.rows]
            if bad:
                r.note = (f"rows in {bf.rows} != parsed {bad[0]['rows']} + rejected "
                          f"{bad[0]['rows_rejected']}")
                return r
        if bf.expect == "error":
            r.note = f"answered ({len(cols)} columns) where an error was expected"
            return r
        r.ok, r.note = True, f"rc {p.rc}, {len(cols)} columns, {p.seconds:.0f}s"
        return r
    if not clean:
        r.crash, r.note = 1, why
        return r
    if re.search(r"recommendations for \S+ after -?\d+s", p.err) and "--timeout" not in bf.args:
        r.hang, r.note = 1, f"waited its whole --timeout: {_last_line(p.err)[:120]}"
        return r
    if bf.expect == "answer":
        r.note = f"rc {p.rc}: {_last_line(p.err)}"
        return r
    if p.rc != 2 and (category == "files" or bf.args[:1] == ("run",)):
        r.note = f"rc {p.rc} (README: 2 for what the user can fix): {_last_line(p.err)}"
        return r
    r.ok, r.note = True, f"rc 2: {_last_line(p.err)[:110]}"
    return r


# ------------------------------------------------------------------------------ cli / state
_TEMPLATE: tuple[Path, str] | None = None


def template_home() -> tuple[Path, str]:
    """A home that ran examples/clean.csv and learned one correction of ``default``."""
    global _TEMPLATE
    if _TEMPLATE is None:
        home = TMP / "template-home"
        p = run_cli(["run", str(CLEAN), "--json"], home)
        ds = json_recs(p.out)[0]["dataset"]
        q = run_cli(["correct", ds, "age", "--type", "categorical"], home)
        if q.rc != 0:
            raise RuntimeError(f"template correction failed: {q.err}")
        _TEMPLATE = (home, ds)
    return _TEMPLATE


def home_copy(name: str) -> tuple[Path, str]:
    src, ds = template_home()
    dst = TMP / f"home-{re.sub(r'[^a-z0-9]+', '-', name.lower())[:40]}-{uuid.uuid4().hex[:4]}"
    shutil.copytree(src, dst, symlinks=True)
    (dst / "up.json").unlink(missing_ok=True)
    return dst, ds


def snapshot(home: Path) -> dict[str, str]:
    """Digests of the learned state (what must never be corrupted by a refused command)."""
    out = {}
    for p in sorted((home / "state").glob("*")) if (home / "state").is_dir() else []:
        if p.is_file():
            out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@dataclass
class CliCase:
    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    expect: str = "error"  # error | answer | either
    prepare: Callable[[Path], None] | None = None
    cols: int | None = None
    after: Callable[[Path, Proc], str] | None = None  # extra check: '' = fine, else why not


def cli_cases() -> list[CliCase]:
    clean = str(CLEAN)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    _KEEP.append(busy)
    return [
        CliCase("AURORA_CHUNK_BYTES=0", ["run", clean], {"AURORA_CHUNK_BYTES": "0"}),
        CliCase("AURORA_CHUNK_BYTES=-5", ["run", clean], {"AURORA_CHUNK_BYTES": "-5"}),
        CliCase("AURORA_CHUNK_BYTES=abc", ["run", clean], {"AURORA_CHUNK_BYTES": "abc"}),
        CliCase("AURORA_REVIEW_THRESHOLD=2", ["run", clean], {"AURORA_REVIEW_THRESHOLD": "2"}),
        CliCase("AURORA_REVIEW_THRESHOLD=nan", ["run", clean],
                {"AURORA_REVIEW_THRESHOLD": "nan"}),
        CliCase("AURORA_PARTITIONS=0", ["run", clean], {"AURORA_PARTITIONS": "0"}),
        CliCase("AURORA_EPSILON_PER_DAY=-1", ["run", clean], {"AURORA_EPSILON_PER_DAY": "-1"}),
        CliCase("AURORA_CHUNK_TIMEOUT=inf", ["run", clean], {"AURORA_CHUNK_TIMEOUT": "inf"},
                expect="either"),
        CliCase("AURORA_METRICS_PORT in use", ["run", clean],
                {"AURORA_METRICS_PORT": str(busy.getsockname()[1])}, expect="either"),
        CliCase("AURORA_METRICS_PORT=99999", ["run", clean], {"AURORA_METRICS_PORT": "99999"}),
        CliCase("AURORA_REDIS_URL nothing listening", ["run", clean, "--json"],
                {"AURORA_REDIS_URL": "redis://127.0.0.1:1/0"}, expect="either"),
        CliCase("AURORA_REDIS_URL=garbage", ["run", clean], {"AURORA_REDIS_URL": "nope://x"}),
        CliCase("AURORA_BROKER=garbage", ["run", clean], {"AURORA_BROKER": "::::"}),
        CliCase("AURORA_BROKER nothing listening", ["run", clean, "--timeout", "20"],
                {"AURORA_BROKER": "kafka://127.0.0.1:1"}),
        CliCase("AURORA_TOKEN=garbage", ["run", clean], {"AURORA_TOKEN": "garbage"}),
        CliCase("AURORA_LOG_LEVEL=bogus", ["run", clean, "--json"],
                {"AURORA_LOG_LEVEL": "bogus"}, expect="either"),
        CliCase("AURORA_BROKER_ISOLATION=weird", ["run", clean],
                {"AURORA_BROKER_ISOLATION": "weird"}),
        CliCase("AURORA_MISSING_MARKERS of 10k commas", ["run", clean, "--json"],
                {"AURORA_MISSING_MARKERS": "," * 10000}, expect="either"),
        CliCase("AURORA_STATE_KEY=00", ["run", clean], {"AURORA_STATE_KEY": "00"}),
        CliCase("AURORA_STATE_KEY non-hex", ["rules"], {"AURORA_STATE_KEY": "zz" * 32}),
        CliCase("--user ''", ["run", clean, "--user", ""]),
        CliCase("--user of 300 chars", ["run", clean, "--user", "u" * 300]),
        CliCase("--user nobody added", ["run", clean, "--user", "mallory"]),
        CliCase("--user ../../etc", ["rules", "--user", "../../etc"], expect="either"),
        CliCase("--dataset of 250 chars", ["run", clean, "--dataset", "d" * 250]),
        CliCase("--dataset ../../etc/x", ["run", clean, "--json", "--dataset", "../../etc/x"],
                expect="either"),
        CliCase("--timeout -1", ["run", clean, "--timeout", "-1"], expect="either"),
        CliCase("correct: unknown type", ["correct", "DS", "age", "--type", "blob"]),
        CliCase("correct: unknown dataset", ["correct", "no-such", "age", "--type", "url"]),
        CliCase("correct: column 999", ["correct", "DS", "999", "--type", "url"]),
        CliCase("correct: column -1", ["correct", "DS", "-1", "--type", "url"]),
        CliCase("recommendations: dataset ../../x", ["recommendations", "../../x"],
                expect="either"),
        CliCase("sniff a directory", ["sniff", "/"]),
    ]


_KEEP: list[Any] = []


def state_cases() -> list[CliCase]:
    clean = str(CLEAN)

    def first_user_blob(h: Path) -> Path:
        blobs = sorted((h / "state").glob("user-*"))
        return blobs[0] if blobs else h / "state" / "missing"

    def flip(h: Path) -> None:
        p = first_user_blob(h)
        b = bytearray(p.read_bytes())
        b[len(b) // 2] ^= 1
        p.write_bytes(bytes(b))

    def truncate(h: Path) -> None:
        p = first_user_blob(h)
        p.write_bytes(p.read_bytes()[:7])

    def empty_blob(h: Path) -> None:
        first_user_blob(h).write_bytes(b"")

    def rm_key(h: Path) -> None:
        (h / "state.key").unlink()

    def key_644(h: Path) -> None:
        (h / "state.key").chmod(0o644)

    def key_garbage(h: Path) -> None:
        (h / "state.key").write_text("not hex at all")

    def file_for(name: str) -> Callable[[Path], None]:
        def prep(h: Path) -> None:
            p = h / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
            p.write_text("i am a file")
        return prep

    def up_json(text: str) -> Callable[[Path], None]:
        return lambda h: (h / "up.json").write_text(text)

    def users_json(h: Path) -> None:
        p = h / "identity" / "users.json"
        p.write_text(p.read_text()[:10])

    def rm_signing(h: Path) -> None:
        (h / "identity" / "signing.key").unlink()
        (h / "identity" / "signing.pub").unlink()

    def cred_garbage(h: Path) -> None:
        for p in (h / "identity" / "credentials").glob("*.jwt"):
            p.write_text("garbage")

    def dataset_doc(h: Path) -> None:
        for p in (h / "datasets").glob("*"):
            p.write_text(p.read_text()[:20])

    def tables_garbage(h: Path) -> None:
        for p in (h / "worker").rglob("*.sqlite"):
            p.write_bytes(os.urandom(4096))

    def home_755(h: Path) -> None:
        h.chmod(0o755)

    def home_open_after(h: Path, p: Proc) -> str:
        mode = stat.S_IMODE(h.stat().st_mode)
        return "" if mode & 0o077 == 0 else f"home left {oct(mode)}"

    def pickle_prior(h: Path) -> None:
        import pickle
        (h / "prior").mkdir(exist_ok=True)
        marker = h / "PWNED"
        payload = pickle.dumps(_Pwn(str(marker)))
        import zstandard
        (h / "prior" / "prior-v1.bin").write_bytes(zstandard.compress(payload)
                                                   if hasattr(zstandard, "compress") else
                                                   zstandard.ZstdCompressor().compress(payload))

    def no_pwn(h: Path, p: Proc) -> str:
        return "a planted pickle ran" if (h / "PWNED").exists() else ""

    def datasets_symlink(h: Path) -> None:
        shutil.rmtree(h / "datasets")
        (h / "datasets").symlink_to("/proc")

    return [
        CliCase("one user blob with a flipped bit: rules", ["rules"], prepare=flip),
        CliCase("one user blob with a flipped bit: run (served from the prior)",
                ["run", clean, "--json"], prepare=flip, expect="answer"),
        CliCase("one user blob with a flipped bit: correct", ["correct", "DS", "plan",
                                                               "--type", "numeric"],
                prepare=flip),
        CliCase("truncated user blob: rules", ["rules"], prepare=truncate),
        CliCase("empty user blob: run", ["run", clean, "--json"], prepare=empty_blob,
                expect="answer"),
        CliCase("state.key deleted: rules", ["rules"], prepare=rm_key, expect="either"),
        CliCase("state.key mode 0644", ["rules"], prepare=key_644),
        CliCase("state.key garbage", ["rules"], prepare=key_garbage),
        CliCase("a file where datasets/ is", ["run", clean], prepare=file_for("datasets")),
        CliCase("a file where worker/ is", ["run", clean], prepare=file_for("worker")),
        CliCase("a file where state/ is", ["rules"], prepare=file_for("state")),
        CliCase("a file where identity/ is", ["run", clean], prepare=file_for("identity")),
        CliCase("up.json truncated", ["run", clean, "--json"], prepare=up_json('{"pid": 1'),
                expect="answer"),
        CliCase("up.json: live pid 1, dead broker", ["run", clean, "--json"],
                prepare=up_json('{"pid": 1, "broker": "kafka://127.0.0.1:1"}'),
                expect="answer"),
        CliCase("identity/users.json truncated", ["run", clean], prepare=users_json,
                expect="either"),
        CliCase("identity keys deleted", ["run", clean, "--json"], prepare=rm_signing,
                expect="either"),
        CliCase("credentials garbage", ["run", clean], prepare=cred_garbage),
        CliCase("datasets/*.json truncated: correct", ["correct", "DS", "age", "--type",
                                                        "url"], prepare=dataset_doc),
        CliCase("worker tables garbage: run", ["run", clean, "--json"], prepare=tables_garbage,
                expect="either"),
        CliCase("home mode 0755 is tightened", ["run", clean, "--json"], prepare=home_755,
                expect="answer", after=home_open_after),
        CliCase("planted pickle prior in AURORA_HOME/prior", ["rules"], prepare=pickle_prior,
                expect="either", after=no_pwn),
        CliCase("datasets/ a symlink to /proc", ["run", clean], prepare=datasets_symlink,
                expect="either"),
    ]


class _Pwn:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (open, (self.path, "w"))


def judge_cli(c: CliCase, p: Proc, category: str) -> Result:
    bf = BadFile(c.name, lambda d: d, cols=c.cols, expect=c.expect, timeout=120,
                 args=tuple(c.args))
    r = judge_run(bf, p, category)
    if r.ok and p.rc == 0 and c.expect == "error" and not json_recs(p.out) and (
            c.args[0] != "run"):
        r.ok, r.note = False, f"rc 0 where a refusal was expected: {_last_line(p.err)}"
    if r.ok and c.expect == "error" and p.rc == 0:
        r.ok, r.note = False, f"accepted (rc 0) where a refusal was expected: {_last_line(p.err)}"
    if r.note.startswith("rc 0 but 0 recommendations") and c.args[0] != "run":
        r.ok, r.note = (c.expect != "error"), "rc 0"
    return r


def cli_phase() -> None:
    for c in cli_cases():
        if c.args[0] == "run" and "--json" not in c.args:
            c.args.append("--json")
        home, ds = home_copy(c.name)
        say(f"cli: {c.name}")
        before = snapshot(home)
        args = [ds if a == "DS" else a for a in c.args]
        p = run_cli(args, home, timeout=120, **c.env)
        r = judge_cli(c, p, "cli/env")
        if snapshot(home) != before and not (p.rc == 0 and args[0] == "run"):
            r.ok, r.note = False, "learned state changed by a refused command"
        record(r)
        shutil.rmtree(home, ignore_errors=True)


def state_phase() -> None:
    for c in state_cases():
        if c.args[0] == "run" and "--json" not in c.args:
            c.args.append("--json")
        home, ds = home_copy(c.name)
        say(f"state: {c.name}")
        if c.prepare:
            c.prepare(home)
        args = [ds if a == "DS" else a for a in c.args]
        p = run_cli(args, home, timeout=120, **c.env)
        r = judge_cli(c, p, "local state")
        if c.after:
            why = c.after(home, p)
            if why:
                r.ok, r.note = False, why
        record(r)
        shutil.rmtree(home, ignore_errors=True)
    readonly_home()


def readonly_home() -> None:
    say("state: read-only AURORA_HOME (a read-only bind mount)")
    home, ds = home_copy("readonly")
    mnt = TMP / "ro-home"
    mnt.mkdir()
    ok = subprocess.run(["mount", "--bind", str(home), str(mnt)]).returncode == 0 and \
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mnt)]).returncode == 0
    if not ok:
        record(Result("local state", "read-only home", note="could not mount (not root?)"))
        return
    try:
        for name, args, expect in (("read-only home: rules", ["rules"], "answer"),
                                   ("read-only home: run", ["run", str(CLEAN)], "error"),
                                   ("read-only home: correct", ["correct", ds, "age",
                                                                "--type", "url"], "error")):
            p = run_cli(args, mnt, timeout=90)
            if expect == "answer":
                r = Result("local state", name, ok=p.rc == 0 and "model serving" in p.err,
                           note=f"rc {p.rc} {_last_line(p.err)}")
                if "Traceback" in p.err:
                    r.crash = 1
            else:
                r = judge_cli(CliCase(name, args, expect="error"), p, "local state")
            record(r)
    finally:
        subprocess.run(["umount", str(mnt)])


# ------------------------------------------------------------------------------ faults
def correct_args(ds: str, col: str, user: str, t: str = "categorical") -> list[str]:
    return ["correct", ds, col, "--type", t, "--user", user]


def fault_kill_correct() -> None:
    """SIGKILL ``aurora correct`` at several points, then retry: applied exactly once."""
    home, ds = home_copy("kill-correct")
    users = []
    for i, delay in enumerate((0.3, 1.0, 2.0, 3.0, 4.0, "state-write")):
        user = f"k{i}"
        users.append(user)
        run_cli(["users", "add", user], home, timeout=30)
        ds = json_recs(run_cli(["run", str(CLEAN), "--json", "--user", user], home,
                               timeout=90).out)[0]["dataset"]  # her own recommendation
        env = env_for(home)
        state_dir = home / "state"
        before = {p.name: p.stat().st_mtime_ns for p in state_dir.glob("*")}
        proc = subprocess.Popen([AURORA, *correct_args(ds, "age", user)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True, cwd=ROOT)
        t0 = time.monotonic()
        if delay == "state-write":
            while proc.poll() is None and time.monotonic() - t0 < 60:
                now = {p.name: p.stat().st_mtime_ns for p in state_dir.glob("*")}
                if now != before:
                    break
                time.sleep(0.002)
        else:
            while proc.poll() is None and time.monotonic() - t0 < float(delay):
                time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        first = model_version(home, user)
        retry = run_cli(correct_args(ds, "age", user), home, timeout=120)
        after = model_version(home, user)
        again = run_cli(correct_args(ds, "age", user), home, timeout=120)
        final = model_version(home, user)
        n = n_applied(final)
        note = (f"kill at {delay}{'s' if delay != 'state-write' else ''}: {first} -> retry "
                f"rc {retry.rc} {after} -> again rc {again.rc} {final}")
        crash = int("Traceback" in retry.err + again.err)
        if crash:
            (TMP / f"crash-kill-{delay}.txt").write_text(retry.err + "\n----\n" + again.err)
            note += " | " + _last_line(retry.err if "Traceback" in retry.err else again.err)
        record(Result("faults", f"SIGKILL aurora correct at {delay}, then retry",
                      ok=n == 1 and retry.rc == 0 and not crash, lost=int(n == 0),
                      dup=max(0, n - 1), crash=crash, note=note))
    shutil.rmtree(home, ignore_errors=True)


def fault_two_corrects() -> None:
    for trial in range(2):
        home, _ = home_copy(f"two-corrects-{trial}")
        dss = {}
        for u in ("p1", "p2"):
            run_cli(["users", "add", u], home, timeout=30)
            dss[u] = json_recs(run_cli(["run", str(CLEAN), "--json", "--user", u], home,
                                       timeout=90).out)[0]["dataset"]
        env = env_for(home)
        procs = [subprocess.Popen([AURORA, *correct_args(dss[u], col, u, t)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  start_new_session=True, cwd=ROOT)
                 for u, col, t in (("p1", "age", "categorical"), ("p2", "plan", "numeric"))]
        rcs, errs = [], []
        for pr in procs:
            try:
                _, e = pr.communicate(timeout=180)
            except subprocess.TimeoutExpired:
                os.killpg(pr.pid, signal.SIGKILL)
                _, e = pr.communicate()
            rcs.append(pr.returncode)
            errs.append(e.decode(errors="replace"))
        vs = [model_version(home, u) for u in ("p1", "p2")]
        lost = sum(n_applied(v) == 0 for v in vs)
        dup = sum(max(0, n_applied(v) - 1) for v in vs)
        record(Result("faults", f"two aurora correct at once (trial {trial + 1})",
                      ok=rcs == [0, 0] and lost == 0 and dup == 0, lost=lost, dup=dup,
                      crash=sum("Traceback" in e for e in errs),
                      note=f"rc {rcs}, versions {vs}"))
        shutil.rmtree(home, ignore_errors=True)


def fault_two_ups() -> None:
    home, ds = home_copy("two-ups")
    first = Up(home).start()
    try:
        up_json = (home / "up.json").read_bytes()
        second = subprocess.run([AURORA, "up"], env=env_for(home), capture_output=True,
                                timeout=60, cwd=ROOT, start_new_session=True)
        err = second.stderr.decode(errors="replace")
        intact = (home / "up.json").exists() and (home / "up.json").read_bytes() == up_json
        p = run_cli(["run", str(CLEAN), "--json"], home, timeout=90)
        uses_first = len(json_recs(p.out)) == 10 or len(json_recs(p.out)) > 0
        record(Result("faults", "two aurora up on one home",
                      ok=second.returncode == 2 and intact and "Traceback" not in err
                      and uses_first and first.alive(),
                      crash=int("Traceback" in err),
                      note=f"second rc {second.returncode}: {_last_line(err)[:90]}; up.json "
                           f"intact {intact}; a run meanwhile rc {p.rc}"))
    finally:
        first.stop()
    shutil.rmtree(home, ignore_errors=True)


def redis_server() -> tuple[subprocess.Popen, str]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = TMP / f"redis-{port}"
    d.mkdir()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(d)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        time.sleep(0.1)
    return proc, f"redis://127.0.0.1:{port}/0"


def fault_redis_killed() -> None:
    home = TMP / "redis-home"
    rproc, url = redis_server()
    up = Up(home, AURORA_REDIS_URL=url).start()
    lost = 0
    notes = []
    try:
        for phase in ("redis up", "redis killed"):
            if phase == "redis killed":
                os.killpg(rproc.pid, signal.SIGKILL)
                rproc.wait(10)
            for _ in range(3):
                p = run_cli(["run", str(CLEAN), "--json", "--timeout", "60"], home, timeout=90,
                            AURORA_REDIS_URL=url)
                n = len({x["column_index"] for x in json_recs(p.out)})
                if p.rc != 0 or n != 10:
                    lost += 1
                    notes.append(f"{phase}: rc {p.rc} {n}/10 {_last_line(p.err)[:80]}")
        record(Result("faults", "Redis SIGKILLed while aurora up runs (6 files)",
                      ok=lost == 0 and up.alive(), lost=lost, crash=int(not up.alive()),
                      note="; ".join(notes) or "every file answered before and after"))
    finally:
        up.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rproc.pid, signal.SIGKILL)
    shutil.rmtree(home, ignore_errors=True)


def fault_worker_killed() -> None:
    """A worker SIGKILLed mid-file; a new worker of the same group finishes it."""
    from aurora_stream.service.broker import EmbeddedBroker

    async def main(broker: Any) -> tuple[int, int, int]:
        from aiokafka import AIOKafkaConsumer

        from aurora_stream.client.publish import publish_file
        path = TMP / "crash.csv"
        ncols = 10
        with open(path, "w") as f:
            f.write(",".join(f"c{i}" for i in range(ncols)) + "\n")
            for r in range(30_000):
                f.write(",".join(str((r * 31 + i) % 997) for i in range(ncols)) + "\n")
        ds = f"crash-{uuid.uuid4().hex[:8]}"
        await publish_file(path, broker.bootstrap, dataset_id=ds, user_id="default",
                           chunk_bytes=8192, token=TOKEN[0])
        deadline = time.monotonic() + 120
        reader = AIOKafkaConsumer("aurora.recommendations", bootstrap_servers=broker.bootstrap,
                                  group_id=None, auto_offset_reset="earliest")
        await reader.start()
        seen: dict[int, set[str]] = {}
        killed = False
        t_kill = time.monotonic() + 2.0
        try:
            while time.monotonic() < deadline and len(seen) < ncols:
                if not killed and time.monotonic() > t_kill:
                    WORKERS[0].kill()
                    killed = True
                    WORKERS.append(start_worker(broker.url))
                batch = await reader.getmany(timeout_ms=200)
                for msgs in batch.values():
                    for m in msgs:
                        doc = orjson.loads(m.value)
                        if doc["dataset_id"] == ds:
                            seen.setdefault(doc["column"], set()).add(doc["recommendation_id"])
        finally:
            await reader.stop()
        return ncols, len(seen), sum(len(v) > 1 for v in seen.values())

    home = TMP / "crash-home"
    app_id = f"adv-{uuid.uuid4().hex[:6]}"
    TOKEN: list[str] = []
    WORKERS: list[subprocess.Popen | Any] = []

    class W:
        def __init__(self, proc: subprocess.Popen) -> None:
            self.proc = proc

        def kill(self) -> None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def start_worker(url: str) -> W:
        log = open(TMP / f"worker-{time.time_ns()}.log", "wb")
        return W(subprocess.Popen([AURORA, "worker", "--broker", url], stdout=log, stderr=log,
                                  env=env_for(home, AURORA_APP_ID=app_id,
                                              AURORA_LOG_LEVEL="WARNING"),
                                  start_new_session=True, cwd=ROOT))

    from aurora_stream.config import Settings
    from aurora_stream.identity.credentials import credential_for
    home.mkdir(parents=True, exist_ok=True)
    TOKEN.append(credential_for(Settings.from_env(home=home), "default", issue=True))
    with EmbeddedBroker(log_path=TMP / "crash-broker.log") as broker:
        WORKERS.append(start_worker(broker.url))
        time.sleep(12)  # group joined (the new worker's own readiness is its log)
        try:
            ncols, got, dups = asyncio.run(main(broker))
        finally:
            for w in WORKERS:
                w.kill()
    record(Result("faults", "worker SIGKILLed mid-file, a new worker takes over",
                  ok=got == ncols, lost=ncols - got, hang=int(got < ncols),
                  note=f"{got}/{ncols} columns answered, {dups} with two recommendation ids"))


def fault_disk_full() -> None:
    mnt = TMP / "tmpfs-home"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs",
                       str(mnt)]).returncode != 0:
        record(Result("faults", "disk full", note="could not mount a tmpfs"))
        return
    try:
        home = mnt / "home"
        p = run_cli(["run", str(CLEAN), "--json"], home, timeout=90)
        ds = json_recs(p.out)[0]["dataset"]
        run_cli(["users", "add", "full"], home, timeout=30)
        ds = json_recs(run_cli(["run", str(CLEAN), "--json", "--user", "full"], home,
                               timeout=90).out)[0]["dataset"]
        up = Up(home).start()
        try:
            filler = mnt / "filler"
            with open(filler, "wb") as f, contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * (1 << 20))
            with contextlib.suppress(OSError), open(mnt / "filler2", "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
            full = run_cli(correct_args(ds, "age", "full"), home, timeout=120)
            pub = run_cli(["run", str(CLEAN), "--json", "--timeout", "60"], home, timeout=100)
            filler.unlink()
            (mnt / "filler2").unlink(missing_ok=True)
            time.sleep(1)
            retry = run_cli(correct_args(ds, "age", "full"), home, timeout=120)
            alive = up.alive()
        finally:
            up.stop()
        v = model_version(home, "full")
        n = n_applied(v)
        clean_full = full.rc == 0 or one_line_error(full)[0]
        record(Result("faults", "disk full: correct refused, retried after space is freed",
                      ok=n == 1 and retry.rc == 0 and clean_full and alive,
                      lost=int(n == 0), dup=max(0, n - 1),
                      crash=int("Traceback" in full.err + retry.err) + int(not alive),
                      note=f"while full rc {full.rc} ({_last_line(full.err)[:70]}); retry rc "
                           f"{retry.rc}; {v}"))
        ok_pub = pub.rc == 0 or (pub.rc == 2 and one_line_error(pub)[0])
        record(Result("faults", "disk full: aurora run while full",
                      ok=ok_pub, crash=int("Traceback" in pub.err),
                      note=f"rc {pub.rc}: {_last_line(pub.err)[:100]}"))
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def faults_phase() -> None:
    for f in (fault_kill_correct, fault_two_corrects, fault_two_ups, fault_redis_killed,
              fault_worker_killed, fault_disk_full):
        say(f"faults: {f.__name__}")
        try:
            f()
        except Exception as exc:
            record(Result("faults", f.__name__, note=f"harness error: {exc!r}"[:200]))


# ------------------------------------------------------------------------------ report
def report() -> None:
    from rich.console import Console
    from rich.table import Table

    cats: dict[str, list[Result]] = {}
    for r in RESULTS:
        cats.setdefault(r.category, []).append(r)
    t = Table(title="AURORA Stream adversarial re-test (issue 13)")
    for col in ("category", "inputs tried", "answered or dead-lettered correctly", "crashes",
                "hangs", "lost", "duplicated"):
        t.add_column(col, justify="left" if col == "category" else "right")
    tot = [0] * 6
    for cat, rs in cats.items():
        bad = [r for r in rs if r.bad_input]
        row = [len(bad), sum(r.ok for r in bad), sum(r.crash > 0 for r in rs),
               sum(r.hang for r in rs), sum(r.lost for r in rs), sum(r.dup for r in rs)]
        tot = [a + b for a, b in zip(tot, row, strict=True)]
        t.add_row(cat, *map(str, row))
    t.add_row("[bold]total", *(f"[bold]{x}" for x in tot))
    console = Console(width=150)
    console.print(t)
    failures = [r for r in RESULTS if not r.ok or r.crash or r.hang or r.lost or r.dup]
    if failures:
        console.print("[bold red]not as expected:")
        for r in failures:
            console.print(f"  {r.category} / {r.name}: {r.note}", soft_wrap=True)


def main() -> int:
    global QUICK
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller big files, fewer faults")
    ap.add_argument("--only", default="events,files,cli,state,faults")
    ap.add_argument("--keep", action="store_true", help="keep the temporary files and logs")
    args = ap.parse_args()
    QUICK = args.quick
    only = set(args.only.split(","))
    say(f"temporary files in {TMP}")
    t0 = time.monotonic()
    try:
        if "events" in only:
            asyncio.run(events_phase())
        if "files" in only:
            files_phase()
        if "cli" in only:
            cli_phase()
        if "state" in only:
            state_phase()
        if "faults" in only:
            faults_phase()
    finally:
        for s in _KEEP:
            s.close()
        if not args.keep:
            shutil.rmtree(TMP, ignore_errors=True)
    say(f"done in {time.monotonic() - t0:.0f}s")
    report()
    return 0 if all(r.ok for r in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
