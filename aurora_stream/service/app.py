"""The Faust app: topics from topics/topics.toml, and the agents of every stage.

Like Faust's own examples, the whole topology is readable here: the topics, then each
stage's ``agents.register`` in the order of the flow (explicit, no autodiscovery).
"""

from __future__ import annotations

from typing import Any

import faust

from aurora_stream.config import Settings
from aurora_stream.identity import faust_broker_credentials
from aurora_stream.learn import agents as learn_agents
from aurora_stream.profile import agents as profile_agents
from aurora_stream.recommend import agents as recommend_agents
from aurora_stream.service import commits, sqlite_store, tansu
from aurora_stream.service.runtime import Runtime
from aurora_stream.wire.topics import specs

STAGES = (profile_agents, recommend_agents, learn_agents)
MAX_MESSAGE = 16 << 20  # a 1 MiB CSV chunk must fit, with room (aiokafka defaults to 1 MiB)


def create_app(settings: Settings, broker: str, runtime: Runtime) -> tuple[faust.App, dict]:
    """A Faust app wired to ``broker`` with every topic declared and every agent attached."""
    sqlite_store.register()
    session = settings.group_session_timeout
    home = settings.ensure_home()
    tansu_options: dict[str, Any] = {}
    if settings.on_tansu:
        broker = tansu.broker_urls(broker)
        tansu_options["TableManager"] = tansu.TableManager
    else:  # Faust's aiokafka transport, committing only what was processed
        broker = commits.broker_urls(broker)
    app = faust.App(
        settings.app_id,
        broker=broker,
        store=sqlite_store.EMBEDDED_URL if settings.on_tansu else sqlite_store.URL,
        datadir=str(home / "worker"),
        web_enabled=False,
        autodiscover=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        producer_max_request_size=MAX_MESSAGE,
        consumer_max_fetch_size=MAX_MESSAGE,
        # Bounded memory: Faust buffers fetched events per partition (default 4096, i.e. GBs
        # of 1 MiB chunks when parsing is slower than fetching); past 16 it pauses fetching.
        broker_max_poll_records=100,
        stream_buffer_maxsize=16,
        stream_wait_empty=False,
        # Short group timeouts on Tansu: a join takes about half the session timeout, and a
        # killed worker holds its partitions until its session expires.
        broker_session_timeout=session,
        broker_heartbeat_interval=min(session / 5, 3.0),
        broker_rebalance_timeout=2.0 if session < 10 else 60.0,
        broker_commit_interval=0.5,
        table_standby_replicas=0,
        broker_credentials=faust_broker_credentials(settings),  # SASL/TLS in production
        **tansu_options,
    )
    commits.install(app)  # events Faust clears from stream queues are fetched again
    topics: dict[str, Any] = {
        name: app.topic(name, key_serializer="raw", value_serializer="raw",
                        partitions=spec.partitions, retention=spec.retention_ms / 1000.0,
                        config=spec.config, internal=False)
        for name, spec in specs().items()
    }
    for stage in STAGES:
        stage.register(app, topics, runtime)
    return app, topics
