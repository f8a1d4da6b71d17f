"""Every agent survives every event, and chunk accounting never drops data silently, on the
real broker with a real worker: crafted sketches among good ones, conflicting end markers,
a re-published dataset id, chunks whose predecessors never come, made-up and cross-user
corrections. Each ends in an answer or a dead letter with a reason; nothing is lost."""

from __future__ import annotations

import asyncio
import base64
import uuid

import orjson
import polars as pl
import pytest
from aiokafka import AIOKafkaProducer
from service_helpers import in_process_worker, read_topic, unique, worker_settings

from aurora_stream.client.consume import ResultCollector
from aurora_stream.client.feedback import FeedbackClient, correction_for
from aurora_stream.identity import credential_for, token_headers
from aurora_stream.profile.sketch import sketch_frame
from aurora_stream.wire.records import DeadLetter, decode

CSV = "id,name,price\n" + "".join(f"{i},n{i % 7},{i * 1.5}\n" for i in range(50))
SKETCH = orjson.loads(sketch_frame(pl.DataFrame({"0": [f"v{i}" for i in range(300)]}))[0]
                      .to_bytes())


def csv_chunk(ds: str, **kw) -> bytes:
    return orjson.dumps({"v": 1, "dataset_id": ds, "user_id": "ana", "seq": 0, "last": True,
                         "first_line": 1, "data": CSV, **kw})


def column_chunk(ds: str, **sketch) -> bytes:
    s = base64.b64encode(orjson.dumps({**SKETCH, **sketch})).decode()
    return orjson.dumps({"v": 1, "dataset_id": ds, "user_id": "ana", "column": 0,
                         "n_columns": 1, "seq": 0, "last": True, "sketch": s, "flags": [],
                         "rows_in": 300, "rows_rejected": 0, "mode": "edge"})


SIGNED: list = []  # ana's credential header, set by the test (third parties sign too)


async def send(bootstrap: str, items: list[tuple[str, bytes, bytes]]) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=16 << 20, acks="all")
    await p.start()
    try:
        for topic, key, value in items:
            await p.send_and_wait(topic, value, key=key, headers=SIGNED)
    finally:
        await p.stop()


async def dead_letters(bootstrap: str, wait: float = 2.0) -> list[DeadLetter]:
    msgs = await read_topic(bootstrap, "aurora.dead-letter", until=lambda m: False,
                            timeout=wait)
    return [decode(DeadLetter, m.value) for m in msgs]


@pytest.mark.timeout(200)
def test_hostile_events_never_lose_a_good_one(broker, aurora_home) -> None:
    settings = worker_settings(broker.url, aurora_home, chunk_timeout=2.0)
    SIGNED[:] = token_headers(credential_for(settings, "ana", issue=True))

    async def main():
        async with in_process_worker(settings, broker.url):
            col = await ResultCollector(broker.bootstrap, from_start=True).start()
            try:
                # 1. crafted sketches among good column-chunks: every good one answered
                goods = [unique("g") for _ in range(40)]
                items = []
                for i, g in enumerate(goods):
                    items.append(("aurora.column-chunks", f"{g}:0".encode(), column_chunk(g)))
                    if i % 4 == 3:
                        p = unique("poison")
                        crafted = column_chunk(p, **({"len": ["a", "b"]} if i % 8 == 3
                                                     else {"len": [[1], 5]}))
                        items.append(("aurora.column-chunks", f"{p}:0".encode(), crafted))
                await send(broker.bootstrap, items)
                for g in goods:
                    assert len(await col.wait(g, timeout=60, with_rejected=False)) == 1

                # 2. two chunks both saying last: refused for every column, never partial
                lt = unique("last-twice")
                body = CSV.split("\n", 1)[1]
                kw = {"columns": ["id", "name", "price"], "data": body, "first_line": 2}
                await send(broker.bootstrap, [
                    ("aurora.csv-chunks", lt.encode(), csv_chunk(lt, seq=0, **kw)),
                    ("aurora.csv-chunks", lt.encode(), csv_chunk(lt, seq=1, **kw))])

                # 3. a dataset id published twice with the same file: answered both times
                rp = unique("republish")
                await send(broker.bootstrap, [("aurora.csv-chunks", rp.encode(), csv_chunk(rp))])
                first = await col.wait(rp, timeout=30)
                again = await ResultCollector(broker.bootstrap, from_start=False).start()
                try:
                    await send(broker.bootstrap,
                               [("aurora.csv-chunks", rp.encode(), csv_chunk(rp))])
                    second = await again.wait(rp, timeout=30)
                finally:
                    await again.stop()
                # ... and with another file under the same id: refused with a reason
                other = CSV.replace("n1,", "zz,")
                await send(broker.bootstrap, [("aurora.csv-chunks", rp.encode(),
                                               csv_chunk(rp, data=other))])

                # 4. a chunk whose predecessors never come: timed out with a reason
                st = unique("stuck")
                await send(broker.bootstrap, [("aurora.csv-chunks", st.encode(), csv_chunk(
                    st, seq=5, columns=["id", "name", "price"], data=body, first_line=2))])

                # 5. corrections: made up, and claiming another user, refused; a real one applied
                rec = first[0]
                fake = dict(rec.asdict(), recommendation_id=uuid.uuid4().hex[:24],
                            dataset_id="no-such-dataset")
                fb = await FeedbackClient(broker.bootstrap).start()
                try:
                    made_up = correction_for(type(rec)(**fake), accepted=False,
                                             feature_type="url")
                    cross = correction_for(rec, user_id="alice", accepted=False,
                                           feature_type="url")
                    real = correction_for(rec, accepted=False, feature_type="categorical")
                    for c in (made_up, cross):
                        with pytest.raises(Exception, match="refused"):
                            await fb.send_and_wait([c], timeout=30)
                    done = await fb.send_and_wait([real], timeout=30)
                finally:
                    await fb.stop()
                await asyncio.sleep(4.0)  # the sweep runs every timeout / 3
                dls = await dead_letters(broker.bootstrap)
            finally:
                await col.stop()
            return first, second, dls, done, (made_up, cross), (lt, rp, st)

    first, second, dls, done, refused, (lt, rp, st) = asyncio.run(main())
    reasons = {}
    for d in dls:
        reasons.setdefault((d.key or "").split(":")[0], []).append(d.reason)
    assert sum("column-chunk refused" in r for d in dls for r in [d.reason]
               if (d.key or "").startswith("poison")) == 10
    # every column refuses the second end marker (whichever came first), with the reason
    assert len(reasons.get(lt, [])) == 3
    assert all("disagree" in r or "another file" in r for r in reasons[lt])
    assert [r.recommendation_id for r in first] == [r.recommendation_id for r in second]
    assert any("another file" in r or "different data" in r for r in reasons.get(rp, []))
    assert len(reasons.get(st, [])) == 3 and all("never arrived" in r for r in reasons[st])
    assert [e.kind for e in done.values()] == ["applied"]
    for c in refused:
        assert any(c.correction_id in (d.event or "") for d in dls)


def column_profile(ds: str, user: str = "ana") -> bytes:
    return orjson.dumps({"v": 1, "dataset_id": ds, "user_id": user, "column": 0,
                         "n_columns": 1, "view": {"count": 300.0, "nulls": 0.0},
                         "flags": [], "rows": 300, "rows_rejected": 0, "chunks": 1})


@pytest.mark.timeout(120)
def test_column_profiles_are_verified_like_every_other_input(broker, aurora_home) -> None:
    """aurora.column-profiles is an input of the recommend agent: a profile written there
    unsigned, or signed by ana but claiming bob, is refused (keyed dataset:column, so a
    publisher sees its column refused), and no sealed recommendation is issued to the user
    it names; the profiles the profile agent derives carry the publisher's credential, so a
    good file is still answered. Before, anyone who could write to the topic had the worker
    issue sealed recommendations (and review requests) to any user."""
    settings = worker_settings(broker.url, aurora_home)
    SIGNED[:] = token_headers(credential_for(settings, "ana", issue=True))

    async def main():
        async with in_process_worker(settings, broker.url):
            col = await ResultCollector(broker.bootstrap, from_start=True).start()
            try:
                unsigned, claims_bob, good = unique("unsigned"), unique("bob"), unique("good")
                p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
                await p.start()
                try:
                    await p.send_and_wait("aurora.column-profiles", column_profile(unsigned),
                                          key=b"ana")
                finally:
                    await p.stop()
                await send(broker.bootstrap, [
                    ("aurora.column-profiles", b"bob", column_profile(claims_bob, "bob")),
                    ("aurora.csv-chunks", good.encode(), csv_chunk(good))])
                answered = await col.wait(good, timeout=60)
                for ds in (unsigned, claims_bob):
                    assert await col.wait(ds, timeout=30, n_columns=1) == []
                    assert "unauthenticated" in col.refused(ds)[0]
            finally:
                await col.stop()
            return answered

    assert len(asyncio.run(main())) == 3


@pytest.mark.timeout(120)
def test_flags_outside_the_vocabulary_stop_at_the_profile_stage(broker, aurora_home) -> None:
    """An edge-mode column-chunk is written by the publisher: its flags may hold anything (a
    column name, a raw value). The profile keeps only NAME_FLAGS tokens, so nothing else
    reaches aurora.column-profiles (or what follows it). Before, the flags were copied
    into the profile as they came."""
    settings = worker_settings(broker.url, aurora_home)
    SIGNED[:] = token_headers(credential_for(settings, "ana", issue=True))
    canary = "CANARY-flag-7f3a"

    async def main():
        async with in_process_worker(settings, broker.url):
            ds = unique("flags")
            chunk = orjson.loads(column_chunk(ds))
            chunk["flags"] = [canary, "id"]
            await send(broker.bootstrap, [("aurora.column-chunks", f"{ds}:0".encode(),
                                           orjson.dumps(chunk))])
            return ds, await read_topic(
                broker.bootstrap, "aurora.column-profiles", timeout=60,
                until=lambda ms: any(ds.encode() in m.value for m in ms))

    ds, msgs = asyncio.run(main())
    profiles = [orjson.loads(m.value) for m in msgs if ds.encode() in m.value]
    assert [p["flags"] for p in profiles] == [["id"]]
    assert not any(canary.encode() in m.value for m in msgs)
