"""Wire level: event records and schemas, topic names and keys, delivery and dead letters."""
