"""distribute worker: the long-running scheduler (foreground; SIGTERM or Ctrl-C stops it cleanly)."""

from __future__ import annotations

import click

from . import State, pass_state
from .common import epilog


@click.command(
    epilog=epilog(
        "distribute worker", "distribute --config /srv/press/config.toml worker --name host-a", codes=(0, 1, 2)
    )
)
@click.option(
    "--name",
    metavar="NAME",
    help="this worker's name in its log (default: the host name)",
)
@click.option(
    "--poll",
    type=float,
    metavar="SECONDS",
    help="how often to look for newly scheduled releases (default: [delivery] poll)",
)
@pass_state
def worker(state: State, name: str | None, poll: float | None) -> None:
    """Deliver each release at its due time, until stopped; restarts lose and repeat nothing."""
    import logging
    import os

    from ..send.worker import Worker

    logging.basicConfig(
        level=logging.DEBUG if state.verbose > 1 else logging.INFO, format="%(asctime)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING if state.verbose < 2 else logging.INFO)
    ws = state.require_config()
    w = Worker(ws, name or os.uname().nodename, poll)
    logging.getLogger("distribute.worker").info(
        "worker %s started on %s (poll every %gs)", w.name, ws.database_url.split("://")[0], w.poll
    )
    w.run_forever()
    logging.getLogger("distribute.worker").info("worker %s stopped", w.name)
