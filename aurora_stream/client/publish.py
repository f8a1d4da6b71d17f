"""Publish a CSV file as events: raw chunks (default) or, in edge mode, only column sketches."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aiokafka import AIOKafkaProducer

from aurora_stream.config import Settings
from aurora_stream.identity.credentials import credential_for, token_headers
from aurora_stream.identity.kafka import kafka_security
from aurora_stream.ingest.chunker import read_table
from aurora_stream.ingest.dialect import Dialect, sniff
from aurora_stream.ingest.source import open_source, prepend
from aurora_stream.profile.columns import process_chunk
from aurora_stream.wire.records import CsvChunk
from aurora_stream.wire.topics import COLUMN_CHUNKS, CSV_CHUNKS

MAX_MESSAGE = 16 << 20
MAX_DATASET_ID = 200  # the events' schema (wire/records.py _ID)
_SUFFIX = 12
MAX_DATASET_NAME = MAX_DATASET_ID - _SUFFIX - 1


def check_dataset_name(name: str | None) -> None:
    """Raise ValueError (one line) for a name no dataset id can be made of: the id
    ``NAME-xxxxxxxxxxxx`` must fit the events' schema, or every chunk is refused (and the
    dead letter's key, cut at 200 characters, names no dataset the publisher waits for)."""
    if name is not None and not (0 < len(name) <= MAX_DATASET_NAME):
        raise ValueError(f"a dataset name must have 1 to {MAX_DATASET_NAME} characters, "
                         f"got {len(name)}")


def new_dataset_id(name: str | None = None) -> str:
    """A dataset id unique per publish (``NAME-xxxxxxxx`` when a name is given)."""
    check_dataset_name(name)
    suffix = uuid.uuid4().hex[:_SUFFIX]
    return f"{name}-{suffix}" if name else suffix


@dataclass
class Published:
    dataset_id: str
    columns: list[str]
    chunks: int
    bytes_read: int
    dialect: Dialect
    edge: bool


def producer(bootstrap: str, settings: Settings | None = None) -> AIOKafkaProducer:
    """A producer that accepts 1 MiB+ chunks (aiokafka refuses them by default), with the
    Kafka security settings of ``settings`` (default: from the environment)."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=MAX_MESSAGE,
                            linger_ms=5, acks="all",
                            **kafka_security(settings or Settings.from_env()))


def client_token(user_id: str, token: str | None = None,
                 settings: Settings | None = None) -> str:
    """The credential events of ``user_id`` are signed with: ``token`` if given, else
    AURORA_TOKEN or the home's credential (issued on the spot by an embedded home's key)."""
    if token:
        return token
    settings = settings or Settings.from_env()
    return credential_for(settings, user_id, issue=settings.embedded)


def sniff_source(source: str | Path | BinaryIO, missing: Sequence[str] | None = None,
                 ) -> tuple[Dialect, str | Path | BinaryIO]:
    """Sniff a file (seeking through it) or standard input (its head, then replayed);
    ``missing``: this file's missing-value markers instead of the configured ones."""
    if str(source) == "-" or not isinstance(source, (str, Path)):
        stream = open_source(source)
        head = stream.read(256 * 1024)
        return sniff(head, missing=missing), prepend(head, stream)
    return sniff(source, missing=missing), source


async def publish_file(
    source: str | Path | BinaryIO,
    bootstrap: str,
    *,
    dataset_id: str,
    user_id: str,
    chunk_bytes: int = 1 << 20,
    edge: bool = False,
    on_chunk: Callable[[int], None] | None = None,
    kafka: AIOKafkaProducer | None = None,
    token: str | None = None,
) -> Published:
    """Stream ``source`` to the broker; bounded memory (one chunk at a time). Every event
    carries ``user_id``'s credential in its ``aurora-token`` header (see client_token)."""
    headers = token_headers(client_token(user_id, token))
    dialect, source = sniff_source(source)
    header, chunks = read_table(source, dialect, chunk_bytes=chunk_bytes)
    wire_dialect = {**dialect.to_dict(), "encoding": "utf-8", "skip_lines": 0,
                    "has_header": False}  # chunks are transcoded text holding records only
    own = kafka is None
    kafka = kafka or producer(bootstrap)
    if own:
        await kafka.start()
    n = total = 0
    try:
        key = dataset_id.encode()
        for tc in chunks:
            event = CsvChunk(dataset_id=dataset_id, user_id=user_id, seq=tc.seq, last=tc.last,
                             first_line=tc.first_line, data=tc.text, columns=header,
                             dialect=wire_dialect, decode_errors=list(tc.decode_errors) or None,
                             oversize=[[o.line, o.chars] for o in tc.oversize] or None)
            if edge:
                for c in process_chunk(event, mode="edge").columns:
                    await kafka.send(COLUMN_CHUNKS, c.to_bytes(),
                                     key=f"{c.dataset_id}:{c.column}".encode(),
                                     headers=headers)
            else:
                await kafka.send(CSV_CHUNKS, event.to_bytes(), key=key, headers=headers)
            n += 1
            size = len(tc.text.encode("utf-8"))
            total += size
            if on_chunk:
                on_chunk(size)
        await kafka.flush()
    finally:
        if own:
            await kafka.stop()
    return Published(dataset_id, header, n, total, dialect, edge)
