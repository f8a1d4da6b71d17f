"""A librdkafka client of AURORA Stream (confluent-kafka), with no AURORA code: it produces a
CSV file as csv-chunk events (schemas/csv-chunk.v1.json) and reads the recommendations of
that file in a consumer group (schemas/recommendation.v1.json).

    python examples/clients/confluent_kafka_client.py FILE.csv --bootstrap 127.0.0.1:9092

Tested against the embedded broker (Tansu) by tests/clients/test_confluent_kafka.py, and
written for Apache Kafka alike. What it needs on the embedded broker, and why, is in
``CONSUMER_SETTINGS``; the README's "Clients" section says what does not work.

The file is read as UTF-8, comma-separated, with a header line; other dialects: pass
``delimiter``, or send the file as one chunk without ``columns`` and let the worker sniff it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer

CSV_CHUNKS = "aurora.csv-chunks"
RECOMMENDATIONS = "aurora.recommendations"
CHUNK_BYTES = 512 * 1024  # below librdkafka's default message.max.bytes (1,000,000)

PRODUCER_SETTINGS = {
    "acks": "all",
    "linger.ms": 5,
    "enable.idempotence": False,  # not needed: a redelivered chunk is merged once (by seq)
    # Kafka's default partitioner (Java clients, aiokafka): corrections keyed by user id must
    # land where the worker expects them; harmless for chunks (one key, one partition).
    "partitioner": "murmur2_random",
}
CONSUMER_SETTINGS = {
    "auto.offset.reset": "earliest",
    # On the embedded broker a group join takes about half the session timeout: with
    # librdkafka's default (45 s) the first assignment comes after ~22 s; 6 s joins in ~3 s.
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 1500,
    # The embedded broker holds an empty fetch for the whole wait, per empty partition:
    # a short wait keeps the latency of a recommendation low there.
    "fetch.wait.max.ms": 50,
    "enable.auto.commit": True,
}


def auth_headers() -> list[tuple[str, bytes]]:
    """Headers every event carries: the user's credential (``aurora users add NAME`` prints
    it) in ``aurora-token``; the worker takes the user from it and refuses unsigned events."""
    token = os.environ.get("AURORA_TOKEN", "")
    return [("aurora-token", token.encode())] if token else []


def chunk_events(path: Path, *, dataset_id: str, user_id: str, delimiter: str = ",",
                 chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """csv-chunk events of ``path``: whole records only, the column names on every chunk,
    ``first_line`` the file line of each chunk's first record, ``last`` on the final one."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter=delimiter)
        columns = next(reader)
        pending: list[str] = []
        size, seq, first_line, line_after = 0, 0, reader.line_num + 1, reader.line_num
        for record in reader:
            buf = io.StringIO()
            csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerow(record)
            text = buf.getvalue()
            if pending and size + len(text) > chunk_bytes:
                yield _event(dataset_id, user_id, seq, False, first_line, pending, columns,
                             delimiter)
                seq, pending, size, first_line = seq + 1, [], 0, line_after + 1
            pending.append(text)
            size += len(text)
            line_after = reader.line_num
        yield _event(dataset_id, user_id, seq, True, first_line, pending, columns, delimiter)


def _event(dataset_id: str, user_id: str, seq: int, last: bool, first_line: int,
           records: list[str], columns: list[str], delimiter: str) -> bytes:
    event = {"v": 1, "dataset_id": dataset_id, "user_id": user_id, "seq": seq, "last": last,
             "first_line": first_line, "data": "".join(records), "columns": columns}
    if delimiter != ",":
        event["dialect"] = {"delimiter": delimiter}
    return json.dumps(event).encode("utf-8")


def produce_file(bootstrap: str, path: Path, *, dataset_id: str, user_id: str,
                 **kwargs: object) -> list[str]:
    """Send the file's chunk events (keyed by dataset id, so they stay in order); returns
    the file's column names."""
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_SETTINGS})
    errors: list[str] = []

    def delivered(err: object, msg: object) -> None:
        if err is not None:
            errors.append(str(err))

    columns: list[str] = []
    for value in chunk_events(path, dataset_id=dataset_id, user_id=user_id, **kwargs):
        columns = json.loads(value)["columns"]
        producer.produce(CSV_CHUNKS, value=value, key=dataset_id.encode(),
                         headers=auth_headers(), on_delivery=delivered)
        producer.poll(0)
    if producer.flush(30) or errors:
        raise KafkaException(f"not delivered: {errors or 'flush timed out'}")
    return columns


class Recommendations:
    """A consumer-group reader of recommendations; ``joined_after`` is how long the first
    assignment took (seconds)."""

    def __init__(self, bootstrap: str, group: str, **overrides: object) -> None:
        self.started = time.monotonic()
        self.joined_after: float | None = None
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                  **CONSUMER_SETTINGS, **overrides})
        self.consumer.subscribe([RECOMMENDATIONS], on_assign=self._assigned)

    def _assigned(self, consumer: Consumer, partitions: list) -> None:
        if self.joined_after is None:
            self.joined_after = time.monotonic() - self.started

    def wait_joined(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while self.joined_after is None and time.monotonic() < deadline:
            self.consumer.poll(0.1)  # a poll drives the join; nothing is produced yet
        if self.joined_after is None:
            raise TimeoutError(f"no partitions assigned after {timeout:.0f}s")
        return self.joined_after

    def of_dataset(self, dataset_id: str, n_columns: int, timeout: float) -> list[dict]:
        """One recommendation per column of ``dataset_id`` (redeliveries deduplicated by
        recommendation id), sorted by column."""
        got: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        while len({r["column"] for r in got.values()}) < n_columns:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(got)} of {n_columns} columns after {timeout:.0f}s")
            msg = self.consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            rec = json.loads(msg.value())
            if rec.get("dataset_id") == dataset_id:
                got[rec["recommendation_id"]] = rec
        return sorted(got.values(), key=lambda r: r["column"])

    def close(self) -> None:
        self.consumer.close()  # leaves the group at once (no session timeout to wait out)


def main(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file", type=Path)
    p.add_argument("--bootstrap", default="127.0.0.1:9092")
    p.add_argument("--user", default="default")
    p.add_argument("--group", default="aurora-example-client")
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args(argv)
    dataset_id = f"{args.file.stem}-{uuid.uuid4().hex[:8]}"
    recs = Recommendations(args.bootstrap, args.group)
    try:
        recs.wait_joined(60)  # joined first: the recommendations are not missed
        names = produce_file(args.bootstrap, args.file, dataset_id=dataset_id,
                             user_id=args.user)
        for r in recs.of_dataset(dataset_id, len(names), args.timeout):
            print(f"{r['column']:3d} {names[r['column']]:20.20} {r['feature_type']:18} "
                  f"{r['transformation']:18} {r['imputation']:10} {r['confidence']:.2f}")
    finally:
        recs.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
