"""A PostgreSQL server for the multi-worker tests: $DISTRIBUTE_TEST_POSTGRES_URL, or a throwaway cluster.

The throwaway cluster is made with initdb and pg_ctl (from PATH or /usr/lib/postgresql/*/bin),
listens on 127.0.0.1 on a free port with its socket in its own folder, and runs as the
`postgres` user when the tests run as root (initdb refuses root).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_servers import free_port

URL_ENV = "DISTRIBUTE_TEST_POSTGRES_URL"


def _bindir() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _as_postgres_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "running as root and there is no `postgres` user for initdb to run as; create one "
            f"(useradd postgres) or set ${URL_ENV}"
        )
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-c"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A server URL without a database name (…@host:port), alive for the whole session."""
    given = os.environ.get(URL_ENV)
    if given:
        # postgresql://user@host:port/db (a role allowed to CREATE DATABASE); driver: psycopg 3.
        if given.startswith(("postgresql://", "postgres://")):
            given = "postgresql+psycopg://" + given.split("://", 1)[1]
        yield given.rsplit("/", 1)[0] if given.count("/") > 2 else given
        return
    bindir = _bindir()
    if bindir is None:
        pytest.skip(
            "NO POSTGRESQL: neither initdb on PATH nor /usr/lib/postgresql/*/bin; install the Debian "
            f"package `postgresql` or set ${URL_ENV} — the multi-worker PostgreSQL tests did NOT run"
        )
    wrap = _as_postgres_user()
    home = Path(tempfile.mkdtemp(prefix="distribute-pg-"))
    if wrap:
        shutil.chown(home, "postgres")
    data, port = home / "data", free_port()

    def call(*argv: str) -> None:
        cmd = [*wrap, *argv] if wrap[:1] != ["su"] else ["su", "postgres", "-c", " ".join(argv)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stdout}{done.stderr}")

    call(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    call(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        try:
            call(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    import psycopg

    name = f"distribute_test_{uuid.uuid4().hex[:12]}"
    admin = postgres_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_server}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def pg_rows(
    url: str, sql: str = "SELECT * FROM deliveries ORDER BY release_id, channel, seq"
) -> list[dict[str, object]]:
    """Rows read straight from the server (an outside view of the ledger)."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), row_factory=dict_row) as conn:
        return list(conn.execute(sql))
