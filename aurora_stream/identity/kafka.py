"""Kafka client security from config, for aiokafka and for Faust.

Production brokers: ``AURORA_KAFKA_SECURITY_PROTOCOL`` (PLAINTEXT, SSL, SASL_PLAINTEXT,
SASL_SSL), ``AURORA_KAFKA_SASL_MECHANISM`` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512),
``AURORA_KAFKA_SASL_USERNAME`` / ``AURORA_KAFKA_SASL_PASSWORD``, ``AURORA_KAFKA_SSL_CAFILE``
(and optionally ``AURORA_KAFKA_SSL_CERTFILE`` / ``AURORA_KAFKA_SSL_KEYFILE`` for mutual TLS).

The embedded broker gets nothing here: Tansu 0.6 cannot enforce SASL (see
service/broker.py), so these return PLAINTEXT settings for it.
"""

from __future__ import annotations

import ssl
from typing import Any

from aurora_stream.config import Settings


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_ssl_certfile:
        ctx.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    return ctx


def _check(settings: Settings) -> None:
    proto = settings.kafka_security_protocol
    if proto.startswith("SASL_"):
        missing = [n for n, v in (("AURORA_KAFKA_SASL_MECHANISM", settings.kafka_sasl_mechanism),
                                  ("AURORA_KAFKA_SASL_USERNAME", settings.kafka_sasl_username),
                                  ("AURORA_KAFKA_SASL_PASSWORD", settings.kafka_sasl_password))
                   if not v]
        if missing:
            raise ValueError(f"AURORA_KAFKA_SECURITY_PROTOCOL={proto} needs {', '.join(missing)}")


def kafka_security(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for every ``AIOKafkaProducer``/``AIOKafkaConsumer``/admin client:
    ``AIOKafkaProducer(bootstrap_servers=..., **kafka_security(settings))``."""
    if settings.embedded or settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    _check(settings)
    proto = settings.kafka_security_protocol
    kw: dict[str, Any] = {"security_protocol": proto}
    if proto in ("SSL", "SASL_SSL"):
        kw["ssl_context"] = _ssl_context(settings)
    if proto.startswith("SASL_"):
        kw.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                  sasl_plain_username=settings.kafka_sasl_username,
                  sasl_plain_password=settings.kafka_sasl_password)
    return kw


def faust_broker_credentials(settings: Settings) -> Any:
    """Faust's ``broker_credentials`` (``faust.App(..., broker_credentials=...)``), or None.

    SASL over TLS/plaintext -> ``faust.SASLCredentials``; TLS only -> ``faust.SSLCredentials``.
    """
    if settings.embedded or settings.kafka_security_protocol == "PLAINTEXT":
        return None
    _check(settings)
    import faust

    proto = settings.kafka_security_protocol
    ctx = _ssl_context(settings) if proto in ("SSL", "SASL_SSL") else None
    if proto == "SSL":
        return faust.SSLCredentials(ctx)
    return faust.SASLCredentials(username=settings.kafka_sasl_username,
                                 password=settings.kafka_sasl_password, ssl_context=ctx,
                                 mechanism=settings.kafka_sasl_mechanism)
