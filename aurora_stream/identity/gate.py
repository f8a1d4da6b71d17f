"""What every entry agent checks before it touches an event: who signed it, and whether
that user is within her quota. One call per event; the agents stay thin.

    gate = Gate.from_settings(settings)
    user = await gate.admit(event, claimed_user, kind, amount, topics, runtime)

Refused (unsigned, forged, expired, revoked, claiming another user): ``Refused`` with the
dead-letter reason. Over quota: ``Refused`` too, after a ``Refusal`` event went to
``aurora.refusals`` keyed by the user, so she can read why (never a silent drop).
"""

from __future__ import annotations

from typing import Any

from aurora_stream.config import Settings
from aurora_stream.identity.quotas import Quotas
from aurora_stream.identity.verify import IdentityRefused, Verifier
from aurora_stream.wire.topics import REFUSALS


class Refused(ValueError):
    """The event is not admitted; the message is the dead-letter reason."""


class Gate:
    def __init__(self, verifier: Verifier, quotas: Quotas) -> None:
        self.verifier = verifier
        self.quotas = quotas

    @classmethod
    def from_settings(cls, settings: Settings) -> Gate:
        return cls(Verifier.from_settings(settings), Quotas.from_settings(settings))

    async def admit(self, event: Any, claimed_user: str, kind: str | None, amount: float,
                    topics: dict[str, Any], runtime: Any) -> str:
        """The authenticated user of ``event`` within quota, or ``Refused``."""
        headers = getattr(getattr(event, "message", None), "headers", None)
        try:
            user = self.verifier.user_of(headers, claimed_user=claimed_user)
        except IdentityRefused as exc:  # counted as a refusal by its dead letter
            raise Refused(f"unauthenticated: {exc}") from None
        if kind is not None:
            refusal = self.quotas.take(user, kind, amount, topic=event.message.topic)
            if refusal is not None:
                sent = await topics[REFUSALS].send(key=user.encode(), value=refusal.to_bytes())
                await sent
                raise Refused(refusal.reason)
        return user
