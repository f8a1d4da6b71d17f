"""The ``aurora`` command line: run a file end to end, or operate the pipeline piece by piece.

Every option has an environment variable (``AURORA_*``, see ``aurora --help`` and README).
Heavy imports (Faust, River) happen inside commands so ``aurora --help`` stays instant.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from aurora_stream.config import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="AURORA Stream: ML feature preparation recommendations for CSV streams.")
learn_app = typer.Typer(no_args_is_help=True, help="Learning operations.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (run on demand).")
app.add_typer(learn_app, name="learn")
app.add_typer(bench_app, name="bench")

err = Console(stderr=True)
out = Console()

BrokerOpt = Annotated[str | None, typer.Option("--broker", envvar="AURORA_BROKER",
                      help="kafka://HOST:PORT of a Kafka cluster; default: the embedded broker")]
UserOpt = Annotated[str, typer.Option("--user", envvar="AURORA_USER",
                    help="whose data and corrections these are")]
HomeOpt = Annotated[Path | None, typer.Option("--home", envvar="AURORA_HOME",
                    help="local state of the embedded mode (default ~/.aurora)")]
RedisOpt = Annotated[str | None, typer.Option("--redis", envvar="AURORA_REDIS_URL",
                     help="redis://HOST:PORT/DB for the L0 cache; default in-process")]
JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON object per column per line")]


def _settings(broker: str | None = None, home: Path | None = None, user: str | None = None,
              redis: str | None = None) -> Settings:
    return Settings.from_env(broker=broker, home=home, user=user, redis_url=redis)


def _up_file(settings: Settings) -> Path:
    return settings.home / "up.json"


def _running_broker(settings: Settings) -> str | None:
    """The broker of a live ``aurora up`` for this AURORA_HOME, if any."""
    if not settings.embedded:
        return settings.broker
    path = _up_file(settings)
    if not path.exists():
        return None
    info = orjson.loads(path.read_bytes())
    try:
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError):
        return None
    return str(info["broker"])


def _quiet_logs() -> None:
    import logging

    level = os.environ.get("AURORA_LOG_LEVEL", "ERROR").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for name in ("aiokafka", "faust", "mode", "kafka"):
        logging.getLogger(name).setLevel(level)


def _progress(transient: bool = True) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), console=err, transient=transient,
                    disable=not err.is_terminal)


async def _publish_and_collect(settings: Settings, file: str, bootstrap: str, *, dataset: str |
                               None, edge: bool, timeout: float):
    from aurora_stream.service.consume import ResultCollector
    from aurora_stream.service.localstate import remember_dataset, remember_recommendations
    from aurora_stream.service.publish import new_dataset_id, publish_file

    collector = await ResultCollector(bootstrap, from_start=False).start()
    try:
        dataset_id = new_dataset_id(dataset)
        size = Path(file).stat().st_size if file != "-" and Path(file).exists() else None
        with _progress() as progress:
            task = progress.add_task("publishing", total=size)
            pub = await publish_file(file, bootstrap, dataset_id=dataset_id, user_id=settings.user,
                                     chunk_bytes=settings.chunk_bytes, edge=edge,
                                     on_chunk=lambda n: progress.advance(task, n))
            remember_dataset(settings.home, dataset_id, settings.user, pub.columns)
            task2 = progress.add_task("recommending", total=len(pub.columns))
            recs = await collector.wait(
                dataset_id, timeout=timeout, with_rejected=not edge,
                on_progress=lambda k, n: progress.update(task2, completed=k, total=n))
        remember_recommendations(settings.home, recs)
        return pub, recs, collector.rejected_rows(dataset_id)
    finally:
        await collector.stop()


def _show(pub, recs, rejected, as_json: bool) -> None:
    from aurora_stream.service.render import print_json_lines, print_summary, print_table

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
    settings = _settings(broker, home, user, redis)

    async def main() -> int:
        from aurora_stream.service.worker import running_stack

        async with running_stack(settings) as (bootstrap, _worker):
            pub, recs, rejected = await _publish_and_collect(
                settings, file, bootstrap, dataset=dataset, edge=edge, timeout=timeout)
        _show(pub, recs, rejected, as_json)
        return 0

    raise typer.Exit(_run_async(main))


def _run_async(main) -> int:
    from aurora_stream.ingest.source import SourceError
    from aurora_stream.service.consume import DatasetFailed

    try:
        return asyncio.run(main())
    except (SourceError, FileNotFoundError, KeyError, TimeoutError, DatasetFailed) as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2


async def _serve_until_signal(settings: Settings, *, embedded: bool) -> None:
    from aurora_stream.service.worker import running_stack

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_stack(settings) as (bootstrap, _worker):
        if embedded:
            settings.ensure_home()
            _up_file(settings).write_bytes(orjson.dumps(
                {"pid": os.getpid(), "broker": f"kafka://{bootstrap}"}))
        err.print(f"[green]ready[/]: broker {bootstrap} (Ctrl-C to stop)")
        try:
            await stop.wait()
        finally:
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
    asyncio.run(_serve_until_signal(Settings(**{**settings.__dict__, "broker": None}),
                                    embedded=True))


@app.command()
def worker(broker: Annotated[str, typer.Option("--broker", envvar="AURORA_BROKER",
                                               help="kafka://HOST:PORT")],
           home: HomeOpt = None, redis: RedisOpt = None) -> None:
    """A worker against any Kafka cluster, until Ctrl-C (run several to share partitions)."""
    _quiet_logs()
    asyncio.run(_serve_until_signal(_settings(broker, home, None, redis), embedded=False))


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
    settings = _settings(broker, home, user)
    running = _running_broker(settings)

    async def main() -> int:
        from aurora_stream.service.localstate import remember_dataset
        from aurora_stream.service.publish import new_dataset_id, publish_file
        from aurora_stream.service.worker import running_stack

        if running is None:
            async with running_stack(settings) as (bootstrap, _):
                pub, _recs, _rej = await _publish_and_collect(
                    settings, file, bootstrap, dataset=dataset, edge=edge, timeout=timeout)
        else:
            bootstrap = running.split("://", 1)[-1]
            dataset_id = new_dataset_id(dataset)
            with _progress() as progress:
                task = progress.add_task("publishing", total=Path(file).stat().st_size
                                         if file != "-" else None)
                pub = await publish_file(file, bootstrap, dataset_id=dataset_id,
                                         user_id=settings.user, edge=edge,
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
        from aurora_stream.events import Recommendation
        from aurora_stream.service.consume import ResultCollector
        from aurora_stream.service.localstate import load_dataset, remember_recommendations
        from aurora_stream.service.render import print_json_lines, print_table

        recs: list[Recommendation] = []
        if running is not None:
            col = await ResultCollector(running.split("://", 1)[-1], from_start=True).start()
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
        return 0

    raise typer.Exit(_run_async(main))


@app.command()
def sniff(file: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show what the reader decided for FILE (the parse stage uses exactly this)."""
    from aurora_stream.service.publish import sniff_source

    dialect, _ = sniff_source(file)
    if as_json:
        print(orjson.dumps(dialect.sniff_json()).decode())
        return
    from rich.table import Table

    t = Table(title=f"sniff {file}")
    t.add_column("setting")
    t.add_column("value")
    for k, v in dialect.to_dict().items():
        t.add_row(k, repr(v) if isinstance(v, str) else str(v))
    out.print(t)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
