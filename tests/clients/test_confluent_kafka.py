"""A librdkafka client (confluent-kafka) against the embedded broker: the example client
(examples/clients/confluent_kafka_client.py, no AURORA code) produces a CSV file as
csv-chunk events and reads its recommendations in a consumer group."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import json
import time
import uuid
from pathlib import Path

import confluent_kafka
import fastjsonschema

from aurora_stream.config import Settings
from aurora_stream.identity import credential_for
from aurora_stream.service.worker import Worker
from aurora_stream.vocab import is_valid

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "confluent_kafka_client", REPO / "examples" / "clients" / "confluent_kafka_client.py")
client = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(client)

COLUMNS = ["order_id", "amount", "status", "note", "shipped_on"]


def _write_csv(path: Path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(n):
            note = "left at door,\nsigned by neighbour" if i % 97 == 0 else f"note {i % 7}"
            w.writerow([f"A-{i:05d}", f"{(i * 37) % 500 + 0.5:.2f}",
                        ["new", "paid", "sent"][i % 3], note, f"2024-{i % 12 + 1:02d}-01"])


def test_librdkafka_version() -> None:
    # the version the README's claims were measured with (2.0.2, Debian's kcat, fails)
    assert confluent_kafka.libversion()[0].startswith("2.16")


def test_chunk_events_follow_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    _write_csv(path, 600)
    validate = fastjsonschema.compile(json.loads(
        (REPO / "schemas" / "csv-chunk.v1.json").read_text()))
    events = [json.loads(e) for e in client.chunk_events(
        path, dataset_id="d", user_id="u", chunk_bytes=4096)]
    assert len(events) > 3
    for seq, e in enumerate(events):
        validate(e)
        assert e["seq"] == seq and e["last"] == (seq == len(events) - 1)
        assert e["columns"] == COLUMNS
    # first_line is the file line of each chunk's first record (multi-line records counted)
    lines = path.read_text().split("\n")
    for e in events:
        first = next(csv.reader([e["data"].split("\n")[0]]))[0]
        assert lines[e["first_line"] - 1].startswith(first), (e["first_line"], first)
    rows = sum(len(list(csv.reader(e["data"].splitlines(keepends=True)))) for e in events)
    assert rows == 600


def test_produce_a_file_and_consume_recommendations_in_a_group(
        broker, aurora_home: Path, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "orders.csv"
    _write_csv(path, 3000)
    dataset_id = f"orders-{uuid.uuid4().hex[:8]}"
    group = f"t-client-{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env(broker=broker.url, home=aurora_home,
                                 app_id=f"t-aurora-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("AURORA_TOKEN", credential_for(settings, "partner", issue=True))

    def as_a_client() -> tuple[float, list[dict], list[dict]]:
        recs = client.Recommendations(broker.bootstrap, group)
        try:
            joined = recs.wait_joined(30)
            columns = client.produce_file(broker.bootstrap, path, dataset_id=dataset_id,
                                          user_id="partner", chunk_bytes=32 * 1024)
            assert columns == COLUMNS
            got = recs.of_dataset(dataset_id, len(columns), timeout=90)
        finally:
            recs.close()
        # the group committed what it read: a new member of it is not given them again
        again = client.Recommendations(broker.bootstrap, group)
        seen: list[dict] = []
        try:
            again.wait_joined(30)
            end = time.monotonic() + 2
            while time.monotonic() < end:
                msg = again.consumer.poll(0.2)
                if msg is not None and not msg.error():
                    rec = json.loads(msg.value())
                    if rec["dataset_id"] == dataset_id:
                        seen.append(rec)
        finally:
            again.close()
        return joined, got, seen

    async def main() -> tuple[float, list[dict], list[dict]]:
        worker = Worker(settings, broker.url)
        await worker.start(timeout=60)
        try:
            return await asyncio.to_thread(as_a_client)
        finally:
            await worker.stop()

    joined, recs, seen = asyncio.run(main())
    print(f"consumer group joined after {joined:.2f} s (session.timeout.ms="
          f"{client.CONSUMER_SETTINGS['session.timeout.ms']})")
    assert joined < 10, f"join took {joined:.1f}s: is session.timeout.ms short?"
    assert [r["column"] for r in recs] == list(range(len(COLUMNS)))
    for r in recs:
        assert r["rows"] == 3000 and r["rows_rejected"] == 0, r
        assert is_valid(r["feature_type"], r["transformation"], r["imputation"]), r
    assert not seen, "offsets were not committed on close"


def test_settings_fit_apache_kafka_too() -> None:
    # Kafka's default group.min.session.timeout.ms is 6000; heartbeats at most a third of it
    s = client.CONSUMER_SETTINGS
    assert s["session.timeout.ms"] >= 6000
    assert s["heartbeat.interval.ms"] * 3 <= s["session.timeout.ms"]
