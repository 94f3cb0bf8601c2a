"""Who holds a claim, and when another process may take it over."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from distribute.clock import stamp
from distribute.ledger import claims
from distribute.workspace.config import Workspace
from ledger_fixtures import *  # noqa: F403 (fixtures: lws, plugin_site, postgres_url)
from ledger_servers import wait_for


def test_this_process_holds_its_claims_and_a_recycled_pid_does_not() -> None:
    me = claims.identity()
    host, pid, ticks = me.split(" ")
    assert claims.holder_gone(me) is False
    assert claims.holder_gone(f"{host} {pid} {int(ticks) + 1}") is True  # same pid, another process
    assert not claims.is_stale(me, "2000-01-01T00:00:00.000000Z", "2030-01-01T00:00:00.000000Z")  # lease is moot here


def test_a_finished_process_is_gone_even_before_it_is_reaped() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import os; print(os.getpid())"], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    pid = int(child.stdout.readline())
    host = claims.identity().split(" ")[0]
    wait_for(lambda: claims.holder_gone(f"{host} {pid} 0") is True, what="the child to end")  # a zombie until waited
    child.wait()
    assert claims.holder_gone(f"{host} {pid} 0") is True


def test_a_claim_from_another_host_is_judged_by_its_lease() -> None:
    other = "elsewhere.example 4242 123"
    assert claims.holder_gone(other) is None
    assert not claims.is_stale(other, "2025-06-30T00:10:00.000000Z", "2025-06-30T00:09:59.999999Z")
    assert claims.is_stale(other, "2025-06-30T00:10:00.000000Z", "2025-06-30T00:10:00.000001Z")
    assert claims.is_stale(None, None, stamp(dt.datetime.now(dt.timezone.utc)))


def test_delivery_settings_are_checked_with_file_and_line(lws) -> None:
    from distribute.errors import ConfigError

    config = lws / "config.toml"
    config.write_text(config.read_text().replace("max_attempts = 3", "max_attempts = 0"))
    try:
        Workspace(config)
    except ConfigError as exc:
        assert "max_attempts must be at least 1" in str(exc) and str(config) in str(exc)
    else:
        raise AssertionError("max_attempts = 0 was accepted")
