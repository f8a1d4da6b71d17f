"""The ``aurora`` command line: run a file end to end, or operate the pipeline piece by piece.

Every option has an environment variable (``AURORA_*``, see ``aurora --help`` and README).
Heavy imports (Faust, River) happen inside commands so ``aurora --help`` stays instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from aurora_stream.config import Settings

PARTIAL = 3  # exit code of `aurora run` when some columns were refused and the rest answered
timeline = logging.getLogger("aurora.timeline")  # milestones read by `aurora bench coldstart`
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="AURORA Stream: ML feature preparation recommendations for CSV streams.")
learn_app = typer.Typer(no_args_is_help=True, help="Learning operations.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (run on demand).")
app.add_typer(learn_app, name="learn")
app.add_typer(bench_app, name="bench")
users_app = typer.Typer(no_args_is_help=True, help="Users and their signed credentials.")
app.add_typer(users_app, name="users")

err = Console(stderr=True, soft_wrap=True)  # one message, one line (no wrapping at 80)
# Piped output keeps whole table rows instead of folding them into 80 columns.
out = Console(width=None if sys.stdout.isatty() else 200)

BrokerOpt = Annotated[str | None, typer.Option("--broker", envvar="AURORA_BROKER",
                      help="kafka://HOST:PORT of a Kafka cluster; default: the embedded broker")]
UserOpt = Annotated[str, typer.Option("--user", envvar="AURORA_USER",
                    help="whose data and corrections these are")]
HomeOpt = Annotated[Path | None, typer.Option("--home", envvar="AURORA_HOME",
                    help="local state of the embedded mode (default ~/.aurora)")]
RedisOpt = Annotated[str | None, typer.Option("--redis", envvar="AURORA_REDIS_URL",
                     help="redis://HOST:PORT/DB for the L0 cache; default in-process")]
JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON object per column per line")]
OwnerOpt = Annotated[str | None, typer.Option("--user", envvar="AURORA_USER",
                     help="whose feedback this is; default the recommendation's user")]
WaitOpt = Annotated[float, typer.Option("--timeout", help="seconds to wait until applied")]


def _settings(broker: str | None = None, home: Path | None = None, user: str | None = None,
              redis: str | None = None) -> Settings:
    return Settings.from_env(broker=broker, home=home, user=user, redis_url=redis)


def _with_credential(settings: Settings) -> Settings:
    """``settings`` holding the credential of its user (AURORA_TOKEN, or the home's; the
    ``default`` user of an embedded home gets one made on first use); else a one-line error
    and exit 2, before anything starts."""
    from dataclasses import replace

    from aurora_stream.identity.credentials import NoCredential, credential_for

    try:
        return replace(settings, token=credential_for(settings, settings.user))
    except (NoCredential, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None


def _sealing_key(settings: Settings) -> bytes | None:
    """The key that checks recommendation seals, when this machine holds it (the embedded
    mode, or AURORA_STATE_KEY set): forged recommendations are then never shown or kept."""
    from aurora_stream.learn.store import state_key
    from aurora_stream.recommend.seal import seal_key

    if not (settings.embedded or settings.state_key):
        return None
    return seal_key(state_key(settings.ensure_home(), settings.state_key))


def _up_file(settings: Settings) -> Path:
    return settings.home / "up.json"


def _running_broker(settings: Settings) -> str | None:
    """The broker of a live ``aurora up`` for this AURORA_HOME, if any."""
    if not settings.embedded:
        return settings.broker
    from aurora_stream.service.homelock import HomeBusy, HomeLock

    path = _up_file(settings)
    if not path.exists():
        return None
    try:
        info = orjson.loads(path.read_bytes())
        pid, broker = int(info["pid"]), str(info["broker"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None  # a truncated or foreign file: no `aurora up` to talk to
    try:  # a live `aurora up` holds the home's lock; a stale up.json does not
        HomeLock(settings.ensure_home()).acquire(wait=0).release()
        return None
    except HomeBusy:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return broker


def _thread_error(args: threading.ExceptHookArgs) -> None:
    """A library thread's death is logged (shown with AURORA_LOG_LEVEL=DEBUG), not printed
    as a traceback: the command reports the failure it causes in one line."""
    logging.getLogger("aurora.cli").debug("thread %s died", args.thread, exc_info=(
        args.exc_type, args.exc_value, args.exc_traceback))


def _quiet_logs() -> None:
    from aurora_stream.config import log_level

    level = log_level()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for name in ("aiokafka", "faust", "mode", "kafka"):
        logging.getLogger(name).setLevel(level)
    if "AURORA_LOG_LEVEL" not in os.environ:  # a broker that went away: the command says
        for name in ("aiokafka", "faust", "mode"):  # it in one line; these would add their
            logging.getLogger(name).setLevel(logging.CRITICAL)  # retries and tracebacks
        threading.excepthook = _thread_error  # Faust's consumer thread dies with it too


def _progress(transient: bool = True) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), console=err, transient=transient,
                    disable=not err.is_terminal)


async def _publish_and_collect(settings: Settings, file: str, bootstrap: str, *, dataset: str |
                               None, edge: bool, timeout: float):
    from aurora_stream.cli.localstate import remember_dataset, remember_recommendations
    from aurora_stream.client.consume import ResultCollector
    from aurora_stream.client.publish import new_dataset_id, publish_file

    collector = await ResultCollector(bootstrap, from_start=False,
                                      sealing_key=_sealing_key(settings)).start()
    try:
        dataset_id = new_dataset_id(dataset)
        size = Path(file).stat().st_size if file != "-" and Path(file).exists() else None
        with _progress() as progress:
            task = progress.add_task("publishing", total=size)
            pub = await publish_file(file, bootstrap, dataset_id=dataset_id, user_id=settings.user,
                                     chunk_bytes=settings.chunk_bytes, edge=edge,
                                     token=settings.token,
                                     on_chunk=lambda n: progress.advance(task, n))
            remember_dataset(settings.home, dataset_id, settings.user, pub.columns)
            task2 = progress.add_task("recommending", total=len(pub.columns))

            first = True

            def on_progress(k: int, n: int) -> None:
                nonlocal first
                if first:
                    timeline.info("first result")
                    first = False
                progress.update(task2, completed=k, total=n)

            recs = await collector.wait(dataset_id, timeout=timeout, with_rejected=not edge,
                                        on_progress=on_progress, n_columns=len(pub.columns))
            timeline.info("all results")
        remember_recommendations(settings.home, recs)
        refused = collector.refused(dataset_id)
        for col, reason in refused.items():  # one line each: the rest of the file is answered
            name = pub.columns[col] if col < len(pub.columns) else f"#{col}"
            err.print(f"[yellow]column {name!r} refused:[/] {reason}")
        return pub, recs, collector.rejected_rows(dataset_id), refused
    finally:
        await collector.stop()


def _check_dataset(dataset: str | None) -> None:
    """Refuse a dataset name no id can be made of, before starting a broker for it."""
    from aurora_stream.client.publish import check_dataset_name

    try:
        check_dataset_name(dataset)
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _check_source(file: str) -> None:
    """Refuse a missing file, a directory or a device before starting a broker for it."""
    if file == "-":
        return
    path = Path(file)
    problem = None
    if not path.exists():
        problem = f"{file}: no such file"
    elif path.is_dir():
        problem = f"{file}: is a directory"
    elif not path.is_file():
        problem = f"{file}: not a regular file (a device or a FIFO); pipe it through - instead"
    if problem:
        err.print(f"[red]error:[/] {problem}")
        raise typer.Exit(2)


def _show(pub, recs, rejected, as_json: bool) -> None:
    from aurora_stream.cli.render import print_json_lines, print_summary, print_table

    if as_json:
        print_json_lines(recs, pub.columns)
        return
    print_table(out, recs, pub.columns, title=f"dataset {pub.dataset_id}")
    print_summary(out, recs, rejected)
    d = pub.dialect
    out.print(f"[dim]encoding {d.encoding}, delimiter {d.delimiter!r}, "
              f"{'header' if d.has_header else 'no header'}, {pub.chunks} chunk(s)"
              f"{', edge mode' if pub.edge else ''}[/]")


@app.command()
def run(
    file: Annotated[str, typer.Argument(help="CSV file (.gz .bz2 .zip .zst too), or - for stdin")],
    as_json: JsonOpt = False,
    user: UserOpt = "default",
    dataset: Annotated[str | None, typer.Option(help="dataset name (an id is added)")] = None,
    edge: Annotated[bool, typer.Option(help="sketch locally; send no raw data")] = False,
    broker: BrokerOpt = None,
    home: HomeOpt = None,
    redis: RedisOpt = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for results")] = 300.0,
) -> None:
    """Run the whole pipeline on FILE (embedded broker + worker), print, and exit."""
    _quiet_logs()
    _check_source(file)
    _check_dataset(dataset)
    settings = _with_credential(_settings(broker, home, user, redis))
    running = _running_broker(settings)

    async def main() -> int:
        from aurora_stream.service.worker import running_stack

        if running is not None:  # an `aurora up` serves this home: use it
            pub, recs, rejected, refused = await _publish_and_collect(
                settings, file, running.split("://", 1)[-1], dataset=dataset, edge=edge,
                timeout=timeout)
        else:
            async with running_stack(settings) as (bootstrap, _worker):
                pub, recs, rejected, refused = await _publish_and_collect(
                    settings, file, bootstrap, dataset=dataset, edge=edge, timeout=timeout)
        _show(pub, recs, rejected, as_json)
        return PARTIAL if refused else 0  # partial success: some column was refused

    raise typer.Exit(_run_async(main))


def _user_errors() -> tuple[type[BaseException], ...]:
    """Failures a user can act on: one line on stderr, exit 2 (no traceback)."""
    from aiokafka.errors import KafkaConnectionError  # a broker that is not there: fix the URL

    from aurora_stream.client.consume import DatasetFailed
    from aurora_stream.client.feedback import CorrectionRefused
    from aurora_stream.ingest.source import SourceError
    from aurora_stream.learn.learner import UserStateUnavailable
    from aurora_stream.learn.store import TamperedStateError
    from aurora_stream.recommend.prior import PriorUnavailable
    from aurora_stream.service.homelock import HomeBusy, HomeFull
    from aurora_stream.service.worker import BrokerStopped

    return (SourceError, FileNotFoundError, KeyError, TimeoutError, DatasetFailed, HomeBusy,
            HomeFull, KafkaConnectionError, BrokerStopped,
            UserStateUnavailable, TamperedStateError, PriorUnavailable, PermissionError,
            CorrectionRefused)


def _leave(exc: BaseException) -> None:
    """One line, exit 2, now: the worker's Kafka clients keep retrying a dead broker, and
    closing the loop waits for them for minutes (learned state is written atomically as it
    changes; the home's lock is released with the process)."""
    err.print(f"[red]error:[/] {exc}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(2)


def _run_async(main) -> int:
    from aurora_stream.service import worker
    from aurora_stream.service.worker import BrokerStopped

    worker.on_stuck_broker_exit = _leave
    runner = asyncio.Runner()
    try:
        return runner.run(main()) or 0
    except BrokerStopped as exc:
        _leave(exc)
    except _user_errors() as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2
    finally:
        runner.close()


async def _keep_recommendations(settings: Settings, bootstrap: str) -> None:
    """While ``aurora up`` runs, keep every (sealed) recommendation in AURORA_HOME, so that
    ``aurora correct`` finds it after the embedded broker is gone, whoever published."""
    from aurora_stream.cli.localstate import remember_recommendations
    from aurora_stream.client.consume import consumer, start_positioned
    from aurora_stream.recommend.seal import check
    from aurora_stream.wire.records import InvalidEvent, Recommendation, decode
    from aurora_stream.wire.topics import RECOMMENDATIONS

    key = _sealing_key(settings)
    kafka = consumer(bootstrap, RECOMMENDATIONS, from_start=True)
    await start_positioned(kafka)
    try:
        while True:
            batch = await kafka.getmany(timeout_ms=500, max_records=2000)
            recs = []
            for msgs in batch.values():
                for m in msgs:
                    try:
                        rec = decode(Recommendation, m.value)
                    except InvalidEvent:
                        continue
                    if key is None or check(key, rec.asdict()) is None:
                        recs.append(rec)
            if recs:
                await asyncio.to_thread(remember_recommendations, settings.home, recs)
    finally:
        await kafka.stop()


async def _serve_until_signal(settings: Settings, *, embedded: bool) -> None:
    from aurora_stream.service.worker import running_stack

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_stack(settings, lock_wait=0.0) as (bootstrap, _worker):
        if embedded:
            settings.ensure_home()
            _up_file(settings).write_bytes(orjson.dumps(
                {"pid": os.getpid(), "broker": f"kafka://{bootstrap}"}))
        err.print(f"[green]ready[/]: broker {bootstrap} (Ctrl-C to stop)")
        keeper = asyncio.ensure_future(_keep_recommendations(settings, bootstrap)) \
            if embedded else None
        try:
            await stop.wait()
        finally:
            if keeper is not None:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
            if embedded:
                _up_file(settings).unlink(missing_ok=True)
    err.print("stopped")


@app.command()
def up(home: HomeOpt = None, redis: RedisOpt = None) -> None:
    """Embedded broker + worker until Ctrl-C; other commands use it while it runs."""
    _quiet_logs()
    settings = _settings(None, home, None, redis)
    if settings.broker:
        settings = Settings.from_env(home=home, redis_url=redis)
    raise typer.Exit(_run_async(lambda: _serve_until_signal(
        Settings(**{**settings.__dict__, "broker": None}), embedded=True)))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on (loopback by default)")] =
    "127.0.0.1",
    port: Annotated[int, typer.Option(help="port of the review page")] = 8765,
    home: HomeOpt = None,
    broker: BrokerOpt = None,
    redis: RedisOpt = None,
) -> None:
    """The review page: sign in with your credential, answer review requests with one
    click, see your recommendations, learned rules and privacy report (needs a running
    ``aurora up`` for this home, or --broker)."""
    _quiet_logs()
    settings = _settings(broker, home, None, redis)
    running = _running_broker(settings)
    if running is None:
        err.print("[red]error:[/] no broker: start `aurora up` for this AURORA_HOME first, "
                  "or pass --broker")
        raise typer.Exit(2)
    from aurora_stream.service.review import serve as serve_review

    err.print(f"[green]review page[/]: http://{host}:{port}/ (broker {running}; Ctrl-C to stop)")
    serve_review(settings, running.split("://", 1)[-1], host=host, port=port)


@app.command()
def worker(broker: Annotated[str, typer.Option("--broker", envvar="AURORA_BROKER",
                                               help="kafka://HOST:PORT")],
           home: HomeOpt = None, redis: RedisOpt = None) -> None:
    """A worker against any Kafka cluster, until Ctrl-C (run several to share partitions).

    With --redis, users' learned state lives in Redis, so whichever worker owns a user's
    partition serves her with everything she taught on any worker (set the same
    AURORA_STATE_KEY on every worker)."""
    _quiet_logs()
    try:
        settings = _settings(broker, home, None, redis)
        from aurora_stream.learn.persistence import user_store

        if settings.shared_state:
            user_store(settings.ensure_home(), redis_url=settings.redis_url,
                       key_hex=settings.state_key)  # fail fast on a missing shared key
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    raise typer.Exit(_run_async(lambda: _serve_until_signal(settings, embedded=False)))


@app.command()
def publish(
    file: Annotated[str, typer.Argument(help="CSV file, or - for stdin")],
    dataset: Annotated[str | None, typer.Option(help="dataset name (an id is added)")] = None,
    user: UserOpt = "default",
    edge: Annotated[bool, typer.Option(help="sketch locally; send only column sketches")] = False,
    broker: BrokerOpt = None,
    home: HomeOpt = None,
    timeout: float = 300.0,
) -> None:
    """Publish FILE as chunk events and print its dataset id.

    With no broker configured and no ``aurora up`` running, it starts the embedded pipeline,
    waits for the recommendations and keeps them in AURORA_HOME.
    """
    _quiet_logs()
    _check_source(file)
    _check_dataset(dataset)
    settings = _with_credential(_settings(broker, home, user))
    running = _running_broker(settings)

    async def main() -> int:
        from aurora_stream.cli.localstate import remember_dataset
        from aurora_stream.client.publish import new_dataset_id, publish_file
        from aurora_stream.service.worker import running_stack

        if running is None:
            async with running_stack(settings) as (bootstrap, _):
                pub, _recs, _rej, _refused = await _publish_and_collect(
                    settings, file, bootstrap, dataset=dataset, edge=edge, timeout=timeout)
        else:
            bootstrap = running.split("://", 1)[-1]
            dataset_id = new_dataset_id(dataset)
            with _progress() as progress:
                task = progress.add_task("publishing", total=Path(file).stat().st_size
                                         if file != "-" else None)
                pub = await publish_file(file, bootstrap, dataset_id=dataset_id,
                                         user_id=settings.user, edge=edge, token=settings.token,
                                         chunk_bytes=settings.chunk_bytes,
                                         on_chunk=lambda n: progress.advance(task, n))
            remember_dataset(settings.home, dataset_id, settings.user, pub.columns)
        print(pub.dataset_id)
        return 0

    raise typer.Exit(_run_async(main))


@app.command()
def recommendations(
    dataset: str,
    as_json: JsonOpt = False,
    broker: BrokerOpt = None,
    home: HomeOpt = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for all columns")] = 60.0,
) -> None:
    """Print the recommendations of DATASET (from the topic, else from local state)."""
    _quiet_logs()
    settings = _settings(broker, home)
    running = _running_broker(settings)

    async def main() -> int:
        from aurora_stream.cli.localstate import load_dataset, remember_recommendations
        from aurora_stream.cli.render import print_json_lines, print_table
        from aurora_stream.client.consume import ResultCollector
        from aurora_stream.wire.records import Recommendation

        recs: list[Recommendation] = []
        if running is not None:
            col = await ResultCollector(running.split("://", 1)[-1], from_start=True,
                                        sealing_key=_sealing_key(settings)).start()
            try:
                recs = await col.wait(dataset, timeout=timeout, idle=5.0, with_rejected=False)
            finally:
                await col.stop()
            remember_recommendations(settings.home, recs)
        if not recs:
            doc = load_dataset(settings.home, dataset)
            recs = sorted((Recommendation(**r) for r in (doc or {}).get(
                "recommendations", {}).values()), key=lambda r: r.column)
        if not recs:
            err.print(f"[red]no recommendations for {dataset}[/]")
            return 1
        if as_json:
            print_json_lines(recs, None)
        else:
            print_table(out, recs, None, title=f"dataset {dataset}")
        expected = recs[0].n_columns
        if len(recs) < expected:
            err.print(f"[yellow]incomplete:[/] {len(recs)} of {expected} columns of {dataset} "
                      "have a recommendation so far")
            return 3
        return 0

    raise typer.Exit(_run_async(main))


def _feedback(settings: Settings, dataset: str, columns: list[str] | None, *, accepted: bool,
              user: str | None, timeout: float, **fields: str | None) -> int:
    from dataclasses import replace

    from aurora_stream.cli.localstate import (
        column_position,
        load_dataset,
        stored_recommendation,
    )
    from aurora_stream.client.feedback import correction_for, send_and_wait
    from aurora_stream.service.worker import running_stack

    doc = load_dataset(settings.home, dataset)
    if doc is None:
        err.print(f"[red]error:[/] dataset {dataset} is not known in {settings.home} "
                  "(run or publish it from this AURORA_HOME first)")
        return 2
    positions = ([column_position(doc, c) for c in columns] if columns
                 else sorted(int(k) for k in doc["recommendations"]))
    recs = [stored_recommendation(doc, p) for p in positions]
    if any(r is None for r in recs):
        err.print(f"[red]error:[/] no stored recommendation for some column of {dataset}")
        return 2
    events = [correction_for(r, user_id=user, accepted=accepted, **fields) for r in recs if r]
    tokens = {u: _with_credential(replace(settings, user=u)).token
              for u in {e.user_id for e in events}}
    running = _running_broker(settings)

    async def main() -> int:
        if running is not None:
            done, extra = await send_and_wait(running.split("://", 1)[-1], events,
                                              timeout=timeout, tokens=tokens)
        else:
            async with running_stack(settings) as (bootstrap, _):
                done, extra = await send_and_wait(bootstrap, events, timeout=timeout,
                                                  tokens=tokens)
        for ev in events:
            le = done[ev.correction_id]
            what = "accepted" if accepted else "corrected"
            err.print(f"{what} column #{ev.column} of {dataset}: {le.kind}, model "
                      f"{le.detail.get('model_version', '')}")
            for x in extra.get(ev.correction_id, []):
                if x.kind == "rule-induced":
                    err.print(f"  learned rule {x.detail.get('id')}: this kind of column is "
                              f"{x.detail.get('feature_type')} for you from now on")
                elif x.kind in ("promote", "rollback"):
                    err.print(f"  model {x.kind}: {x.detail.get('from_version')} -> "
                              f"{x.detail.get('to_version')} (window accuracy "
                              f"{x.detail.get('from_accuracy')} -> {x.detail.get('to_accuracy')})")
        return 0

    return _run_async(main)


@app.command()
def correct(
    dataset: str,
    column: Annotated[str, typer.Argument(help="column name or position (e.g. price or 3)")],
    feature_type: Annotated[str | None, typer.Option("--type", help="right feature type")] = None,
    action: Annotated[str | None, typer.Option("--action", help="the right transformation")] = None,
    imputation: Annotated[str | None, typer.Option(help="the right imputation")] = None,
    user: OwnerOpt = None,
    broker: BrokerOpt = None,
    home: HomeOpt = None,
    timeout: WaitOpt = 60.0,
) -> None:
    """Post a correction for one column and wait until it has been learned."""
    _quiet_logs()
    if not (feature_type or action or imputation):
        err.print("[red]error:[/] give at least one of --type, --action, --imputation")
        raise typer.Exit(2)
    settings = _settings(broker, home)
    try:
        code = _feedback(settings, dataset, [column], accepted=False, user=user, timeout=timeout,
                         feature_type=feature_type, transformation=action, imputation=imputation)
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        code = 2
    raise typer.Exit(code)


@app.command()
def accept(
    dataset: str,
    column: Annotated[str | None, typer.Argument(help="one column; default all")] = None,
    user: OwnerOpt = None,
    broker: BrokerOpt = None,
    home: HomeOpt = None,
    timeout: WaitOpt = 60.0,
) -> None:
    """Accept the recommendation of one column (or all) and wait until it was recorded."""
    _quiet_logs()
    settings = _settings(broker, home)
    raise typer.Exit(_feedback(settings, dataset, [column] if column else None, accepted=True,
                               user=user, timeout=timeout))


def _local_learner(settings: Settings, user: str | None = None):
    """The learner over this home's (or, with a broker and Redis, the shared) state, with
    ``user`` loaded; a problem is one line on stderr and exit 2."""
    from aurora_stream.learn.persistence import build_learner
    from aurora_stream.recommend.cache import InProcessCache

    try:
        learner = build_learner(settings.ensure_home(), InProcessCache(),
                                epsilon_per_day=settings.epsilon_per_day,
                                rule_support=settings.rule_support,
                                redis_url=settings.redis_url if settings.shared_state else None,
                                key_hex=settings.state_key,
                                dp_mechanism=settings.dp_mechanism)
        if user is not None:
            learner.ensure(user)
    except (*_user_errors(), ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    return learner


@app.command()
def rules(user: UserOpt = "default", home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """List a user's learned rules (L1) with support and confidence."""
    from rich.table import Table

    learner = _local_learner(_settings(None, home, user), user)
    items = learner.rules.rules_for(user)
    err.print(f"model serving {user}: {learner.bank.version(user)} (gN = champion/challenger "
              "swaps so far)")
    if as_json:
        for r in items:
            print(orjson.dumps(r).decode())
        return
    t = Table(title=f"learned rules of {user}")
    for col in ("id", "feature type", "transformation", "imputation", "support", "successes",
                "failures", "confidence", "active", "region"):
        t.add_column(col)
    for r in items:
        t.add_row(r["id"], r["feature_type"], str(r.get("transformation")),
                  str(r.get("imputation")), str(r["support"]), str(r["successes"]),
                  str(r["failures"]), f"{r['confidence']:.2f}", "yes" if r["active"] else "no",
                  r["region"])
    out.print(t)
    if not items:
        out.print(f"no rules yet: a rule is induced after {learner.rules.k} consistent "
                  "corrections of the same kind of column")


@app.command("privacy-report")
def privacy_report_cmd(user: UserOpt = "default", home: HomeOpt = None,
                       as_json: JsonOpt = False) -> None:
    """Privacy budget (epsilon) spent by USER and what was shared with the global prior."""
    from rich.table import Table

    from aurora_stream.privacy.dp import privacy_report

    settings = _settings(None, home, user)
    report = privacy_report(_local_learner(settings, user).privacy, user)
    if as_json:
        print(orjson.dumps(report).decode())
        return
    t = Table(title=f"privacy report of {user}")
    t.add_column("item")
    t.add_column("value", overflow="fold")
    for k, v in report.items():
        t.add_row(k, v if isinstance(v, str) else orjson.dumps(v).decode())
    out.print(t)


@app.command("privacy-audit")
def privacy_audit(
    canary: Annotated[list[str], typer.Option(help="a planted value or name to search for")],
    broker: BrokerOpt = None,
    home: HomeOpt = None,
    redis: RedisOpt = None,
) -> None:
    """Search every non-raw topic, Redis and AURORA_HOME for canary strings; exit 1 on a hit."""
    from rich.table import Table

    from aurora_stream.privacy.audit import (
        AuditReport,
        needle_forms,
        scan_directory,
        scan_redis,
        scan_topics,
    )
    from aurora_stream.wire.topics import raw_topics

    _quiet_logs()
    settings = _settings(broker, home, None, redis)
    report = AuditReport()
    needles = needle_forms(canary)
    running = _running_broker(settings)
    if running:
        asyncio.run(scan_topics(running.split("://", 1)[-1], needles, report,
                                exclude=raw_topics()))
    if settings.redis_url:
        scan_redis(settings.redis_url, needles, report)
    scan_directory(settings.home, needles, report)
    t = Table(title="privacy audit: searched")
    t.add_column("place")
    t.add_column("items", justify="right")
    for place, n in report.searched.items():
        t.add_row(place, str(n))
    out.print(t)
    if not running:
        out.print("[yellow]no broker running: topics not searched (start aurora up or pass "
                  "--broker)[/]")
    for f in report.findings:
        out.print(f"[red]FOUND[/] {f.needle!r} in {f.where}")
    out.print("clean: no canary found" if report.clean else f"{len(report.findings)} finding(s)")
    raise typer.Exit(0 if report.clean else 1)


@learn_app.command("bootstrap")
def learn_bootstrap(sortinghat: Annotated[Path, typer.Option(help="SortingHat-format CSV")],
                    home: HomeOpt = None) -> None:
    """Replay a SortingHat-format file (one row per column) into the global prior."""
    from aurora_stream.training.sortinghat import replay_sortinghat

    learner = _local_learner(_settings(None, home))
    with err.status(f"replaying {sortinghat} into the prior"):
        n = replay_sortinghat(sortinghat, learner.bank)
    learner.save_prior()
    err.print(f"learned {n} columns into the prior ({learner.bank.prior_version()})")


@app.command()
def sniff(file: str, as_json: Annotated[bool, typer.Option("--json")] = False,
          missing: Annotated[str | None, typer.Option(
              help="comma-separated cells read as missing (AURORA_MISSING_MARKERS)")] = None,
          ) -> None:
    """Show what the reader decided for FILE (the parse stage uses exactly this)."""
    _check_source(file)
    from aurora_stream.client.publish import sniff_source

    dialect, _ = sniff_source(file, None if missing is None else missing.split(","))
    if as_json:
        print(orjson.dumps(dialect.to_dict()).decode())  # every decision of the parse stage
        return
    from rich.table import Table

    t = Table(title=f"sniff {file}")
    t.add_column("setting")
    t.add_column("value")
    for k, v in dialect.to_dict().items():
        t.add_row(k, repr(v) if isinstance(v, str) else str(v))
    out.print(t)


@bench_app.command("pipeline")
def bench_pipeline(
    mb: Annotated[float, typer.Option(help="size of the generated CSV")] = 100.0,
    latency_runs: Annotated[int, typer.Option(help="1 MB files for the latency figures")] = 5,
    cold_runs: Annotated[int, typer.Option(help="cold starts of aurora run")] = 3,
) -> None:
    """End-to-end MB/s against polars.read_csv of the same file, latency and cold start."""
    from rich.table import Table

    from aurora_stream.cli.bench import run_pipeline_bench, summary_rows

    _quiet_logs()
    with err.status(f"pipeline bench on {mb:.0f} MB (generating, baseline, pipeline) ..."):
        figures = run_pipeline_bench(mb, latency_runs, cold_runs)
    t = Table(title="aurora bench pipeline")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for k, v in summary_rows(figures):
        t.add_row(k, v)
    out.print(t)


@bench_app.command("coldstart")
def bench_coldstart(
    runs: Annotated[int, typer.Option(help="cold runs of each command per file")] = 5,
    phases: Annotated[bool, typer.Option(
        "--phases", help="also N runs logging at INFO: milestones from their logs")] = False,
    mb: Annotated[float, typer.Option(help="size of the generated mixed CSV")] = 1.0,
    python: Annotated[str | None, typer.Option(
        help="interpreter of the aurora install to measure (default: this one), e.g. "
             "another checkout's .venv/bin/python to compare")] = None,
) -> None:
    """Cold ``aurora run FILE --json`` (fresh AURORA_HOME, embedded broker), process start to
    exit, against ``python -c pass`` and polars.read_csv measured in the same run."""
    from rich.table import Table

    from aurora_stream.cli.bench_coldstart import phase_rows, run_coldstart_bench, table_rows

    if runs < 1:
        err.print("[red]error:[/] --runs must be at least 1")
        raise typer.Exit(2)
    with err.status("coldstart bench ...") as status:
        figures = run_coldstart_bench(runs, python=python, mb=mb, phases=phases,
                                      on_step=status.update)
    out.print(f"[dim]python: {figures.python}; {figures.runs} run(s) per command[/]")
    for f in figures.files:
        t = Table(title=f"aurora bench coldstart: {f.name} ({f.mb:.2f} MB), wall seconds")
        t.add_column("command")
        for col in ("median", "p90", "/ polars"):
            t.add_column(col, justify="right")
        for row in table_rows(f):
            t.add_row(*row)
        out.print(t)
        if phases:
            p = Table(title=f"phases: {f.name} (AURORA_LOG_LEVEL=INFO runs), seconds from "
                            "process start")
            p.add_column("milestone")
            for col in ("median", "logged in"):
                p.add_column(col, justify="right")
            for row in phase_rows(f):
                p.add_row(*row)
            out.print(p)


@bench_app.command("memory")
def bench_memory(
    sizes: Annotated[str, typer.Option(help="comma-separated file sizes in MB")] = "100,1000",
) -> None:
    """Peak RSS of the publisher+worker process of aurora run at several file sizes."""
    from rich.table import Table

    from aurora_stream.cli.bench import run_memory_bench

    mbs = [float(x) for x in sizes.split(",") if x.strip()]
    with err.status(f"aurora run on generated files of {sizes} MB ..."):
        rows = run_memory_bench(mbs)
    t = Table(title="aurora bench memory (publisher + worker process)")
    for col in ("file MB", "seconds", "MB/s", "peak RSS MiB"):
        t.add_column(col, justify="right")
    for mb, secs, rss in rows:
        t.add_row(f"{mb:.0f}", f"{secs:.1f}", f"{mb / secs:.1f}", f"{rss:.0f}")
    out.print(t)


@bench_app.command("corrections")
def bench_corrections(
    sequential: Annotated[int, typer.Option(help="single corrections timed one by one")] = 50,
    burst: Annotated[int, typer.Option(help="corrections sent at once for the rate")] = 1000,
) -> None:
    """Correction -> applied latency (p50/p95) and corrections/s one worker sustains."""
    from rich.table import Table

    from aurora_stream.cli.bench import percentile, run_corrections_bench

    _quiet_logs()
    with err.status("corrections bench ..."):
        lats, rate = run_corrections_bench(sequential, burst)
    t = Table(title="aurora bench corrections (embedded broker, one worker)")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("correction sent -> learned (applied event received), p50",
              f"{percentile(lats, 50) * 1000:.0f} ms")
    t.add_row("correction sent -> learned, p95", f"{percentile(lats, 95) * 1000:.0f} ms")
    t.add_row(f"burst of {burst}: corrections/s", f"{rate:.0f}")
    out.print(t)


@bench_app.command("scale")
def bench_scale(
    files: Annotated[int, typer.Option(help="generated files (each its own user)")] = 8,
    mb: Annotated[float, typer.Option(help="size of each file in MB")] = 2.0,
    corrections: Annotated[int, typer.Option(help="corrections timed one by one")] = 20,
) -> None:
    """One worker vs two on the same files (shared Redis state), and correction ->
    changed recommendation latency (real broker, real redis-server, worker processes)."""
    from rich.table import Table

    from aurora_stream.cli.bench_scale import run_scale_bench, scale_rows

    _quiet_logs()
    with err.status("scale bench ...") as status:
        figures = run_scale_bench(files, mb, corrections,
                                  on_step=lambda m: m != "step" and status.update(m))
    t = Table(title="aurora bench scale")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for k, v in scale_rows(figures):
        t.add_row(k, v)
    out.print(t)


@bench_app.command("learning")
def bench_learning(
    out_dir: Annotated[Path | None, typer.Option("--out", help="where to save the PNG")] = None,
) -> None:
    """Learning curves on SortingHat (bench/learning.py): table and PNG plot."""
    import runpy

    script = Path(__file__).resolve().parents[2] / "bench" / "learning.py"
    if not script.exists():
        err.print(f"[red]error:[/] {script} not found (run from a source checkout)")
        raise typer.Exit(2)
    sys.argv = [str(script)] + (["--out", str(out_dir)] if out_dir else [])
    runpy.run_path(str(script), run_name="__main__")


# --- aurora users: signed credentials (aurora_stream/identity) ----------------------------
@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="the user's name (her user_id)")],
    home: HomeOpt = None,
    redis: RedisOpt = None,
    days: Annotated[float | None, typer.Option("--days", help="lifetime in days; default "
                    "AURORA_TOKEN_LIFETIME_DAYS (365)")] = None,
) -> None:
    """Issue a credential for NAME: saved (0600) in AURORA_HOME and printed on stdout, to
    hand to the user (AURORA_TOKEN). With --redis the registry is Redis's (every worker)."""
    from aurora_stream.identity.credentials import save_credential
    from aurora_stream.identity.tokens import Issuer

    settings = _settings(None, home, None, redis)
    token, issued = Issuer.from_settings(settings).issue(
        name, None if days is None else days * 86400.0)
    save_credential(settings, name, token)
    err.print(f"credential {issued.jti[:12]} of {name} expires "
              f"{_day(issued.expires_at)}; saved in {settings.home}/identity/credentials",
              soft_wrap=True)
    print(token)


def _day(t: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(t)) + "Z"


@users_app.command("list")
def users_list(home: HomeOpt = None, redis: RedisOpt = None, as_json: JsonOpt = False) -> None:
    """List issued credentials: user, id, issued, expires, live/expired/revoked."""
    import time

    from rich.table import Table

    from aurora_stream.identity.files import credentials_dir
    from aurora_stream.identity.registry import Registry

    settings = _settings(None, home, None, redis)
    here = {p.stem for p in credentials_dir(settings).glob("*.jwt")}
    rows = []
    for c in Registry.from_settings(settings).credentials():
        state = "revoked" if c.revoked else "expired" if c.expires_at < time.time() else "live"
        rows.append({**c.as_dict(), "state": state, "saved_here": c.user in here})
    if as_json:
        for r in rows:
            print(orjson.dumps(r).decode())
        return
    t = Table(title=f"credentials ({'redis' if settings.redis_url else settings.home})")
    for col in ("user", "id", "issued", "expires", "state"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["user"], r["jti"][:12], _day(r["issued_at"]), _day(r["expires_at"]),
                  r["state"])
    out.print(t)


@users_app.command("revoke")
def users_revoke(name: str, home: HomeOpt = None, redis: RedisOpt = None) -> None:
    """Revoke every live credential of NAME (workers refuse them within
    AURORA_IDENTITY_CACHE_SECONDS) and delete the copy saved in AURORA_HOME."""
    from aurora_stream.identity.files import check_name, credentials_dir
    from aurora_stream.identity.registry import Registry

    settings = _settings(None, home, None, redis)
    check_name(name)
    revoked = Registry.from_settings(settings).revoke(name)
    (credentials_dir(settings) / f"{name}.jwt").unlink(missing_ok=True)
    if not revoked:
        err.print(f"[red]error:[/] {name} has no live credential", soft_wrap=True)
        raise typer.Exit(2)
    err.print(f"revoked {len(revoked)} credential(s) of {name}: "
              f"{', '.join(j[:12] for j in revoked)}")


@bench_app.command("accuracy")
def bench_accuracy(
    out_dir: Annotated[Path | None, typer.Option("--out", help="where to save the PNG")] = None,
    before: Annotated[Path | None, typer.Option(
        "--before", help="a prior file to compare with (default: synthetic-only, built)")] = None,
) -> None:
    """Feature-type accuracy on SortingHat's held-out data_test.csv (bench/accuracy.py):
    rules only, a synthetic-only prior, the shipped prior; calibration table and PNG."""
    import runpy

    script = Path(__file__).resolve().parents[2] / "bench" / "accuracy.py"
    if not script.exists():
        err.print(f"[red]error:[/] {script} not found (run from a source checkout)")
        raise typer.Exit(2)
    sys.argv = [str(script)] + (["--out", str(out_dir)] if out_dir else []) + (
        ["--before", str(before)] if before else [])
    runpy.run_path(str(script), run_name="__main__")


@bench_app.command("dp")
def bench_dp(
    seeds: Annotated[int, typer.Option(help="noise seeds per DP row")] = 5,
    days: Annotated[int, typer.Option(help="simulated UTC days")] = 5,
) -> None:
    """Shared learning under differential privacy (bench/dp_cost.py): SortingHat files as
    users; base prior, + DP aggregate, + raw aggregate, old mechanism, shipped prior."""
    import runpy

    script = Path(__file__).resolve().parents[2] / "bench" / "dp_cost.py"
    if not script.exists():
        err.print(f"[red]error:[/] {script} not found (run from a source checkout)")
        raise typer.Exit(2)
    sys.argv = [str(script), "--seeds", str(seeds), "--days", str(days)]
    runpy.run_path(str(script), run_name="__main__")


def main() -> None:
    """Console entry point: every failure is one line on stderr (the traceback only with
    AURORA_LOG_LEVEL=DEBUG), exit 2 for what the user can fix, 1 for the rest.

    On the way out the heap is frozen (``gc.freeze``): the interpreter's last garbage
    collections at shutdown then skip it. They walked every object Faust, River, SciPy and
    polars made, about half a second after the results were printed (measured: 0.56 s ->
    0.08 s from the last line to exit with the worker's modules imported). Nothing is left to
    them: the commands close their clients, tables, broker and lock themselves, atexit
    handlers and thread joins still run, and objects that are freed by reference counting
    (most of them) still are.
    """
    from aurora_stream.config import log_level

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if log_level() == "DEBUG":
            raise
        user = isinstance(exc, (*_user_errors(), ValueError, OSError))
        what = str(exc) or exc.__class__.__name__
        err.print(f"[red]error:[/] {what}" + ("" if user else
                  f" ({exc.__class__.__name__}; AURORA_LOG_LEVEL=DEBUG shows the traceback)"))
        sys.exit(2 if user else 1)
    finally:
        import gc

        gc.freeze()


if __name__ == "__main__":
    main()
