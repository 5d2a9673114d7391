"""Gauntlet's subscribers as Locust users: `locust -f harness/load/locustfile.py <UserClass>`.

Imported only by Locust's own processes (master and workers), which gevent monkey-patches;
the trio harness never imports this module. One user class per transport
(`SseSubscriber`, `SseCloseEachSubscriber`, `LongPollSubscriber`, `WebSocketSubscriber`);
each user runs one subscriber loop of harness/load/gclients.py for its whole life.

Locust does what it is built for (spawning at `--spawn-rate`, spreading users over workers,
coordinating, stopping); Gauntlet keeps exact receipts:
- every user records when it subscribed and every receipt, stamped with
  `time.monotonic_ns()` (system-wide on Linux: comparable with the publisher's stamps on the
  same machine) or, with `--gauntlet-clock wall` across machines, `time.time_ns()`;
- a worker whose users all hold `--gauntlet-events` distinct events tells the master
  (`gauntlet_complete`); once every worker has, the master stops the run (or on SIGUSR1,
  the harness's end of the delivery window, or at `--gauntlet-max-seconds`, whichever
  comes first);
- on stop, each worker sends its receipts to the master (`gauntlet_receipts`, Locust's
  custom messages, before its `client_stopped`), and the master writes one
  `receipts-<worker>.json` per worker under `--gauntlet-receipts` for the harness to merge
  (harness/load/accounting.py). Custom messages:
  https://docs.locust.io/en/stable/running-distributed.html#communicating-across-nodes
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import time
from pathlib import Path
from typing import Any

import gevent
import locust.runners
from locust import User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from gauntlet.load.gclients import LOOPS, Subscriber

CLOCKS = {"monotonic": time.monotonic_ns, "wall": time.time_ns}

# Locust's master marks a worker "missing" after 3 heartbeats (1 s each) went unheard. On a
# shared 2-core machine a worker busy with a connection storm stalls longer than that, and a
# missing worker's receipts were lost (measured: "1 of 2 workers sent receipts" at 2000 SSE
# users). A late worker is not a gone one; the run has its own bound (--gauntlet-max-seconds).
locust.runners.HEARTBEAT_LIVENESS = 30


class _Worker:
    """This process's subscribers and what it has told the master."""

    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.complete_users = 0
        self.all_spawned = False
        self.told_complete = False
        self.recheck_pending = False
        self.sent_receipts = False
        self.environment: Any = None


STATE = _Worker()


def _options() -> Any:
    return STATE.environment.parsed_options


def _check_complete() -> None:
    """Tell the master once every user of this worker holds every event.

    Only after the master's `spawning_complete` AND once this worker's own spawning greenlet
    has ended: the master may announce the end of the ramp before a busy worker has run its
    last spawn message, when its user count still matches an old (or zero) target."""
    runner = STATE.environment.runner if STATE.environment else None
    if not isinstance(runner, WorkerRunner) or STATE.told_complete or not STATE.all_spawned:
        return
    spawning = runner.spawning_greenlet
    if spawning is None:
        return
    if not spawning.dead:
        if not STATE.recheck_pending:  # look again once this worker's ramp has ended
            STATE.recheck_pending = True
            gevent.spawn(_recheck_after, spawning)
        return
    if STATE.complete_users >= runner.user_count == runner.target_user_count:
        STATE.told_complete = True
        runner.send_message("gauntlet_complete", {"users": runner.user_count})


def _recheck_after(spawning: Any) -> None:
    spawning.join()
    STATE.recheck_pending = False
    _check_complete()


def _one_event(sub: Subscriber) -> None:
    if len(sub.distinct) == int(_options().gauntlet_events):
        STATE.complete_users += 1
        _check_complete()


class _Subscriber(User):
    abstract = True
    transport = ""
    wait_time = constant(0)

    @task
    def subscribe(self) -> None:
        runner = self.environment.runner
        node = getattr(runner, "client_id", None) or f"{socket.gethostname()}_{os.getpid()}"
        clock = CLOCKS[_options().gauntlet_clock]
        sub = Subscriber(f"{node}/{len(STATE.subscribers)}", clock, _one_event)
        STATE.subscribers.append(sub)
        LOOPS[self.transport](self.host or "", sub)  # never returns: killed at stop


class SseSubscriber(_Subscriber):
    transport = "sse"


class SseCloseEachSubscriber(_Subscriber):
    transport = "sse_close_each"


class LongPollSubscriber(_Subscriber):
    transport = "long_poll"


class WebSocketSubscriber(_Subscriber):
    transport = "websocket"


USER_CLASSES = {
    c.transport: c.__name__
    for c in (SseSubscriber, SseCloseEachSubscriber, LongPollSubscriber, WebSocketSubscriber)
}


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    g = parser.add_argument_group("gauntlet")
    g.add_argument(
        "--gauntlet-events",
        type=int,
        default=1,
        help="events each subscriber must hold before its worker is complete",
    )
    g.add_argument(
        "--gauntlet-receipts",
        default="",
        help="master: the folder for one receipts-<worker>.json per worker",
    )
    g.add_argument(
        "--gauntlet-clock",
        choices=sorted(CLOCKS),
        default="monotonic",
        help="receipt stamps: monotonic (one machine) or wall (several)",
    )
    g.add_argument(
        "--gauntlet-max-seconds",
        type=float,
        default=300.0,
        help="master: stop the run after this long, complete or not",
    )


def _receipts_document(runner: Any) -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "version": 1,
        "node": runner.client_id,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "clock": _options().gauntlet_clock,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "ended_ns": CLOCKS[_options().gauntlet_clock](),
        "users": [s.document() for s in STATE.subscribers],
    }


@events.test_stop.add_listener
def _send_receipts(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner) and not STATE.sent_receipts:
        STATE.sent_receipts = True  # once, before the worker's `client_stopped`
        runner.send_message("gauntlet_receipts", _receipts_document(runner))


@events.spawning_complete.add_listener
def _spawned(user_count: int, **_: Any) -> None:
    STATE.all_spawned = True
    _check_complete()


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    STATE.environment = environment
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        _init_master(environment, runner)


def _init_master(environment: Any, runner: MasterRunner) -> None:
    folder = Path(environment.parsed_options.gauntlet_receipts or ".")
    complete: set[str] = set()
    finishing: list[bool] = []

    def finish(reason: str) -> None:
        if finishing:
            return
        finishing.append(True)
        (folder / "stop-reason.txt").write_text(reason + "\n")
        runner.stop()  # "stop" to every worker; each sends its receipts before stopping
        runner.quit()

    def on_receipts(environment: Any, msg: Any, **_: Any) -> None:
        node = str(msg.node_id).replace("/", "_")
        path = folder / f"receipts-{node}.json"
        path.with_suffix(".tmp").write_text(json.dumps(msg.data, separators=(",", ":")))
        path.with_suffix(".tmp").rename(path)  # the harness never reads half a document

    def on_complete(environment: Any, msg: Any, **_: Any) -> None:
        complete.add(msg.node_id)
        if len(complete) >= max(len(runner.clients), environment.parsed_options.expect_workers):
            finish("complete: every subscriber holds every event")

    runner.register_message("gauntlet_receipts", on_receipts)
    runner.register_message("gauntlet_complete", on_complete, concurrent=True)
    gevent.spawn_later(
        environment.parsed_options.gauntlet_max_seconds,
        finish,
        "time limit: --gauntlet-max-seconds",
    )
    # The harness's end of the delivery window (harness/load/run.py, END_SIGNAL): gevent runs
    # the handler in a new greenlet (gevent.signal_handler), so the stop waits for receipts
    # exactly as at the time limit.
    gevent.signal_handler(
        signal.SIGUSR1,
        finish,
        "delivery window: the harness's deliver_within_s after the last event",
    )
