"""Send corrections and acceptances, and wait until the learn agent has applied them."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence

import orjson

from aurora_stream.client.consume import consumer, start_positioned
from aurora_stream.client.publish import client_token, producer
from aurora_stream.identity.credentials import token_headers
from aurora_stream.vocab import ALL_TRANSFORMATIONS, FEATURE_TYPES, IMPUTATIONS
from aurora_stream.wire.records import (
    Correction,
    DeadLetter,
    InvalidEvent,
    LearnEvent,
    Recommendation,
    decode,
)
from aurora_stream.wire.topics import CORRECTIONS, DEAD_LETTER, LEARN_EVENTS


def intent_id(user_id: str, recommendation_id: str, accepted: bool, *fields: str | None) -> str:
    """The correction id of one intent: the same user saying the same thing about the same
    recommendation gets the same id, so a retry (after a crash, a timeout, a full disk) is
    applied once at most, and the learner can tell whether it was applied.

    >>> intent_id("ann", "r1", False, "url", None, None) == intent_id("ann", "r1", False,
    ...                                                               "url", None, None)
    True
    """
    payload = "\x00".join([user_id, recommendation_id, str(accepted),
                           *(f or "" for f in fields)])
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def correction_for(rec: Recommendation, *, user_id: str | None = None, accepted: bool,
                   feature_type: str | None = None, transformation: str | None = None,
                   imputation: str | None = None, correction_id: str | None = None
                   ) -> Correction:
    """A correction (or acceptance) event echoing the recommendation it refers to; its id is
    the intent's (``intent_id``) unless one is given."""
    for value, allowed, what in ((feature_type, FEATURE_TYPES, "feature type"),
                                 (transformation, ALL_TRANSFORMATIONS, "transformation"),
                                 (imputation, IMPUTATIONS, "imputation")):
        if value is not None and value not in allowed:
            raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(allowed)}")
    user = user_id or rec.user_id
    return Correction(
        correction_id=correction_id or intent_id(user, rec.recommendation_id, accepted,
                                                 feature_type, transformation, imputation),
        user_id=user, dataset_id=rec.dataset_id,
        column=rec.column, recommendation_id=rec.recommendation_id, accepted=accepted,
        recommendation=rec.asdict(), feature_type=feature_type, transformation=transformation,
        imputation=imputation, created_at=time.time(),
    )


class CorrectionRefused(RuntimeError):
    """The worker dead-lettered corrections; ``reasons`` maps their ids to why."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        first = next(iter(reasons.values()))
        super().__init__(f"{len(reasons)} correction(s) refused: {first}")


class FeedbackClient:
    """A producer of corrections and a reader of learn events, kept open between calls."""

    def __init__(self, bootstrap: str, tokens: dict[str, str] | None = None) -> None:
        """``tokens``: credential per user id; a user not in it is signed with
        ``client_token`` (AURORA_TOKEN or the home's credential)."""
        self.tokens = dict(tokens or {})
        self.reader = consumer(bootstrap, LEARN_EVENTS, DEAD_LETTER, from_start=False)
        self.kafka = producer(bootstrap)
        self.done: dict[str, LearnEvent] = {}
        self.extra: dict[str, list[LearnEvent]] = {}  # rule-induced, promote, rollback, ...
        self.refused: dict[str, str] = {}  # correction id -> the dead letter's reason
        self.resent = 0  # corrections sent again because their answer did not come
        self._wanted: set[str] = set()
        self._sent: dict[str, tuple[Correction, float]] = {}  # id -> (event, when sent)

    async def start(self) -> FeedbackClient:
        await start_positioned(self.reader)
        await self.kafka.start()
        return self

    async def stop(self) -> None:
        await self.kafka.stop()
        await self.reader.stop()

    async def send(self, corrections: Sequence[Correction]) -> None:
        """Send corrections keyed by user, each signed with its user's credential, and
        flush; learn outcomes are read by ``wait`` (or ``send_and_wait``)."""
        self._wanted |= {c.correction_id for c in corrections}
        now = time.monotonic()
        for c in corrections:
            self._sent[c.correction_id] = (c, now)
            if c.user_id not in self.tokens:
                self.tokens[c.user_id] = client_token(c.user_id)
            await self.kafka.send(CORRECTIONS, c.to_bytes(), key=c.user_id.encode(),
                                  headers=token_headers(self.tokens[c.user_id]))
        await self.kafka.flush()

    async def wait(self, correction_ids: Iterable[str], timeout: float = 60.0,
                   resend_after: float = 15.0) -> dict[str, LearnEvent]:
        """Each correction's learn outcome by id, once all are answered.

        A correction still unanswered ``resend_after`` seconds after it was sent is sent
        again, with the same id: the worker applies an id once and answers a repeat as a
        ``duplicate``, so a resend can never count twice, and an answer lost on the way (a
        worker killed between saving and announcing, a broker that lost the record) is
        asked for again instead of waited for until the timeout.

        Raises TimeoutError if they are not all answered within ``timeout``, and
        CorrectionRefused if the worker dead-lettered any of them.
        """
        wanted = set(correction_ids)
        deadline = time.monotonic() + timeout
        while open_ := wanted - self.done.keys() - self.refused.keys():
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"{len(open_)} correction(s) not "
                                   f"applied after {timeout:.0f}s")
            stale = [self._sent[k][0] for k in open_
                     if k in self._sent and now - self._sent[k][1] > resend_after]
            if stale:
                self.resent += len(stale)
                await self.send(stale)
            await self._poll()
        refused = {k: self.refused[k] for k in wanted if k in self.refused and k not in self.done}
        if refused:
            raise CorrectionRefused(refused)
        return {k: self.done[k] for k in wanted}

    async def send_and_wait(self, corrections: Sequence[Correction],
                            timeout: float = 60.0) -> dict[str, LearnEvent]:
        """Send corrections keyed by user; return each one's learn outcome by correction id.

        Raises TimeoutError if the learn agent has not applied them all within ``timeout``.
        """
        await self.send(corrections)
        return await self.wait([c.correction_id for c in corrections], timeout)

    async def drain(self, seconds: float) -> None:
        """Read whatever learn events arrive in the next ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self._poll()

    async def _poll(self) -> None:
        batch = await self.reader.getmany(timeout_ms=100)
        for tp, msgs in batch.items():
            for m in msgs:
                if tp.topic == DEAD_LETTER:
                    self._refusal(m.value)
                    continue
                try:
                    ev = decode(LearnEvent, m.value)
                except InvalidEvent:
                    continue
                if ev.kind in ("applied", "duplicate"):
                    self.done[ev.correction_id] = ev
                else:
                    self.extra.setdefault(ev.correction_id, []).append(ev)


    def _refusal(self, value: bytes | None) -> None:
        try:
            dl = decode(DeadLetter, value)
            event = orjson.loads(dl.event or "null")
        except (InvalidEvent, orjson.JSONDecodeError):
            return
        cid = event.get("correction_id") if isinstance(event, dict) else None
        if cid in self._wanted:
            self.refused[cid] = dl.reason


async def send_and_wait(bootstrap: str, corrections: Sequence[Correction],
                        timeout: float = 60.0, tokens: dict[str, str] | None = None
                        ) -> tuple[dict[str, LearnEvent],
                                                        dict[str, list[LearnEvent]]]:
    """One-shot: send corrections, wait until applied; also what else each one caused
    (an induced rule, a champion/challenger switch), as far as it arrived meanwhile."""
    client = await FeedbackClient(bootstrap, tokens).start()
    try:
        done = await client.send_and_wait(corrections, timeout)
        await client.drain(0.3)  # learn events of the same batch follow the applied one
        return done, client.extra
    finally:
        await client.stop()
