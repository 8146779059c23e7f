"""`liqcascade exchange-sim`: run the local exchange simulator."""
from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Iterable

import click

from common.config import get_config
from liqcascade.sim import faults as sim_faults
from liqcascade.sim import schedule, timeline
from liqcascade.sim.context import with_context
from liqcascade.sim.server import SimServer
from liqcascade.sim.venues import SIM_VENUES, sim_urls

log = logging.getLogger(__name__)


@click.command("exchange-sim")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, show_default=True, type=int)
@click.option("--venues", default=",".join(SIM_VENUES), show_default=True,
              help="Comma-separated venue protocols to serve.")
@click.option("--scenario", type=click.Choice(["demo", "steady"]), default="demo", show_default=True,
              help="Generated flow: calm then a cascade (demo), or a flat rate (steady).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Replay normalized JSON lines (liqcascade parse/scenario output) instead.")
@click.option("--recording", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Replay a `liqcascade record` file (gzip or plain JSONL): each raw frame verbatim, at the "
                   "recorded spacing, to the subscribed clients of its exchange.")
@click.option("--prerender/--no-prerender", default=True, show_default=True,
              help="Finite flows (--duration, --file, --rounds) on venues that allow it (bybit): generate and "
                   "encode every frame before the clock starts, so playing only sends text.")
@click.option("--speed", default=1.0, show_default=True, type=float, help="Playback speed factor.")
@click.option("--rate", default=1000.0, show_default=True, type=float, help="Events/s for --scenario steady.")
@click.option("--symbols", "n_symbols", default=20, show_default=True, type=int,
              help="Symbols (SYM0USDT..) the steady flow is spread over.")
@click.option("--duration", default=0.0, show_default=True, type=float,
              help="Steady: end after this many seconds of flow, int(rate * duration) events (0 = forever).")
@click.option("--lead", default=0.0, show_default=True, type=float,
              help="Steady and --recording: seconds of silence before the flow, while clients connect.")
@click.option("--rounds", default=0, type=int, help="Demo rounds (0 = forever).")
@click.option("--throttle/--no-throttle", default=True, show_default=True,
              help="Reproduce the 1 liquidation/symbol/s snapshotting of Binance and OKX.")
@click.option("--ping-interval", default=180.0, show_default=True, type=float,
              help="Protocol ping interval in seconds (Binance: 180).")
@click.option("--faults", "fault_spec", default="", metavar="SPEC",
              help="Inject faults: KIND@SECONDS[:ARG][/VENUE],... e.g. 'disconnect@20,stall@40:10,garbage@5,"
                   "notice@30:5/okx'. Kinds: " + ", ".join(f"{k} (ARG: {d[0]})" for k, d in sim_faults.KINDS.items()))
@click.option("--client-queue", default=1000, show_default=True, type=int,
              help="Frames queued per client before a slow reader is disconnected (0 = never: unbounded).")
@click.option("--max-age", default=0.0, show_default=True, type=float,
              help="Close connections older than this many seconds (0 = never; Binance: 86400).")
@click.pass_context
def command(ctx: click.Context, host: str, port: int, venues: str, scenario: str, path: str | None,
            recording: str | None, prerender: bool, speed: float, rate: float, n_symbols: int, duration: float,
            lead: float, rounds: int,
            throttle: bool, ping_interval: float, fault_spec: str,
            client_queue: int, max_age: float) -> None:
    """Serve recorded or generated liquidations over the exchanges' real websocket protocols."""

    get_config(ctx, process="exchange-sim")
    try:
        fault_schedule = sim_faults.parse_spec(fault_spec)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    names = [v.strip() for v in venues.split(",") if v.strip()]
    unknown = [v for v in names if v not in SIM_VENUES]
    if unknown:
        raise click.UsageError(f"unknown venue(s) {unknown}; known: {sorted(SIM_VENUES)}")
    if path and recording:
        raise click.UsageError("--file and --recording are alternatives")
    finite = bool(path or recording) or (scenario == "steady" and duration > 0) or (scenario == "demo" and rounds)
    if recording:
        tl = iter(())
    elif path:
        tl = timeline.from_jsonl(path)
    elif scenario == "steady":
        tl = timeline.steady(rate, n_symbols, seconds=duration, lead_s=lead)
    else:
        tl = with_context(timeline.demo(rounds=rounds, venues=tuple(names)))  # OI falls with each cascade
    server = SimServer([SIM_VENUES[v] for v in names], tl, speed=speed, throttle=throttle,
                       ping_interval=ping_interval, client_queue=client_queue, max_age_s=max_age or None)
    frames: Iterable[schedule.Scheduled] | None = None
    anchor = time.time()
    if recording:
        frames = schedule.from_recording(recording, names, speed)
        anchor += lead
    elif finite and prerender and schedule.can_prerender(server.venues, throttle):
        started = time.monotonic()
        pre = schedule.prerender(server.venues, tl, speed)
        anchor = time.time() + pre.estimate_s()  # the flow's clock starts once every frame is encoded
        frames = pre.render(anchor)
        log.info("sim: pre-rendered %d events in %d frames in %.2f s", pre.events, len(frames),
                 time.monotonic() - started)
    asyncio.run(_serve(server, host, port, names, fault_schedule, frames, anchor))


async def _serve(server: SimServer, host: str, port: int, names: list[str], fault_schedule: list[sim_faults.Fault],
                 frames: Iterable[schedule.Scheduled] | None, anchor: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bound = await server.start(host, port)
    for venue, url in sim_urls(host, bound, names).items():
        log.info("sim: %s at %s", venue, url)
    if frames is None:
        player = asyncio.create_task(server.play())
    else:  # prebuilt frames: the clock started at wall time `anchor`
        player = asyncio.create_task(schedule.play(server, frames, time.monotonic() + anchor - time.time()))
    injector = asyncio.create_task(sim_faults.run_schedule(server, fault_schedule))
    done = asyncio.create_task(server.done.wait())
    await asyncio.wait([asyncio.create_task(stop.wait()), done], return_when=asyncio.FIRST_COMPLETED)
    if done.done():  # the timeline ended: send what is still batched or queued before closing
        await server.finish()
    player.cancel()
    injector.cancel()
    await server.close()
    log.info("sim: stopped after %d events, %d prebuilt frames", server.sent_events, server.stats["prebuilt_frames"])
