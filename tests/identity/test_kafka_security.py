"""SASL/TLS settings from AURORA_KAFKA_* to aiokafka kwargs and Faust broker_credentials."""

from __future__ import annotations

import asyncio
import ssl

import faust
import pytest
from aiokafka import AIOKafkaProducer

from aurora_stream.config import Settings
from aurora_stream.identity import faust_broker_credentials, kafka_security


def _s(monkeypatch, **env: str) -> Settings:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return Settings.from_env()


def test_embedded_and_plaintext_need_nothing(monkeypatch) -> None:
    monkeypatch.delenv("AURORA_BROKER", raising=False)
    s = _s(monkeypatch, AURORA_KAFKA_SECURITY_PROTOCOL="SASL_SSL")
    assert kafka_security(s) == {} and faust_broker_credentials(s) is None
    s = _s(monkeypatch, AURORA_BROKER="kafka://k:9092", AURORA_KAFKA_SECURITY_PROTOCOL="plaintext")
    assert kafka_security(s) == {} and faust_broker_credentials(s) is None


def test_sasl_ssl_scram(monkeypatch) -> None:
    s = _s(monkeypatch, AURORA_BROKER="kafka://k:9093", AURORA_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
           AURORA_KAFKA_SASL_MECHANISM="scram-sha-512", AURORA_KAFKA_SASL_USERNAME="aurora",
           AURORA_KAFKA_SASL_PASSWORD="pw")
    kw = kafka_security(s)
    assert kw["security_protocol"] == "SASL_SSL" and kw["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kw["sasl_plain_username"], kw["sasl_plain_password"]) == ("aurora", "pw")
    assert isinstance(kw["ssl_context"], ssl.SSLContext)

    async def make() -> None:  # aiokafka accepts them as they are
        AIOKafkaProducer(bootstrap_servers="k:9093", **kw)

    asyncio.run(make())
    creds = faust_broker_credentials(s)
    assert isinstance(creds, faust.SASLCredentials)
    assert creds.mechanism.value == "SCRAM-SHA-512" and creds.protocol.value == "SASL_SSL"
    assert "pw" not in repr(creds)


def test_ssl_only_and_missing_settings(monkeypatch) -> None:
    s = _s(monkeypatch, AURORA_BROKER="kafka://k:9093", AURORA_KAFKA_SECURITY_PROTOCOL="SSL")
    assert set(kafka_security(s)) == {"security_protocol", "ssl_context"}
    assert isinstance(faust_broker_credentials(s), faust.SSLCredentials)
    s = _s(monkeypatch, AURORA_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT")
    with pytest.raises(ValueError, match="AURORA_KAFKA_SASL_MECHANISM"):
        kafka_security(s)
    with pytest.raises(ValueError, match="AURORA_KAFKA_SECURITY_PROTOCOL"):
        _s(monkeypatch, AURORA_KAFKA_SECURITY_PROTOCOL="TLS")
