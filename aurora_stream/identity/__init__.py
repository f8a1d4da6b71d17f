"""Who is who: signed per-user credentials (JWT, EdDSA), their registry and revocation,
the verifier every agent calls, per-user quotas, and Kafka client security settings.

The lead-facing API::

    from aurora_stream.identity import Verifier, IdentityRefused, Quotas, TOKEN_HEADER
    from aurora_stream.identity import kafka_security, faust_broker_credentials
"""

from aurora_stream.identity.credentials import NoCredential, credential_for, token_headers
from aurora_stream.identity.kafka import faust_broker_credentials, kafka_security
from aurora_stream.identity.quotas import CHUNK_BYTES, CORRECTIONS, Quotas
from aurora_stream.identity.registry import Registry
from aurora_stream.identity.tokens import TOKEN_HEADER, Issuer
from aurora_stream.identity.verify import IdentityRefused, Verifier

__all__ = [
    "CHUNK_BYTES", "CORRECTIONS", "TOKEN_HEADER", "IdentityRefused", "Issuer", "NoCredential",
    "Quotas", "Registry", "Verifier", "credential_for", "faust_broker_credentials",
    "kafka_security", "token_headers",
]
