"""AURORA Stream: streaming CSV column profiling and ML preparation recommendations.

The package is laid out along the flow of data: ``ingest`` (bytes to rows),
``profile`` (rows to mergeable column sketches and fingerprints), ``recommend``
(fingerprint to a recommendation), ``learn`` (corrections to updated models),
``privacy`` (differential privacy and audits) and ``service`` (Faust app, broker,
CLI). Each stage's broker-facing code lives in its ``agents`` module only.
"""

__version__ = "0.1.0"
