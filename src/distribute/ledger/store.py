"""The delivery ledger: one row per delivery key, the single source of truth of what went out.

States: pending → claimed (in a batch of this process) → sending (handed to the adapter) →
sent | pending (retry later) | failed | in_doubt; pending → cancelled. A delivery is moved
to `sending` in a committed transaction before the adapter sees it (several at once, never
more than the adapter has room for: see send/channel_run.py), so a crash can leave at most
the deliveries then in the adapter's hands, or about to be, without a recorded outcome.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..clock import stamp
from . import claims
from .sql import READY

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.engine import Engine

    from ..adapters.base import Receipt

STATES = ("pending", "claimed", "sending", "sent", "failed", "in_doubt", "cancelled")
_STATEMENTS: dict[str, Any] = {}  # SQL text -> its parsed clause (see Ledger.sql)

# Ledger.stage: one upsert. Each row gives the columns of STAGED, in that order; the columns of SHARED
# (the same for every row of a channel's schedule) are given once for the batch. The rows go in as named
# parameters (executemany) or, on SQLite, as one JSON array of arrays read by json_each.
STAGED: tuple[str, ...] = ("key", "target", "part", "label", "after_key", "seq", "sha256")
SHARED: tuple[str, ...] = ("release_id", "channel", "adapter", "generation", "due", "not_before", "now")
_STAGE_SQL = """
    INSERT INTO deliveries (key, release_id, channel, adapter, target, part, label, after_key, seq,
        generation, state, due, not_before, next_attempt, attempts, sha256, created_at, updated_at)
    {rows}
    ON CONFLICT (key) DO UPDATE SET channel = excluded.channel, adapter = excluded.adapter,
        label = excluded.label, after_key = excluded.after_key, seq = excluded.seq,
        generation = excluded.generation, state = 'pending', due = excluded.due,
        not_before = excluded.not_before, next_attempt = excluded.due, attempts = 0,
        sha256 = excluded.sha256, last_error = NULL, updated_at = excluded.updated_at
    WHERE deliveries.state IN ('pending', 'failed', 'cancelled')
"""
_STAGE_VALUES = """VALUES (:key, :release_id, :channel, :adapter, :target, :part, :label, :after_key, :seq,
        :generation, 'pending', :due, :not_before, :due, 0, :sha256, :now, :now)"""


def _column(name: str) -> str:
    return f"json_extract(j.value, '$[{STAGED.index(name)}]')" if name in STAGED else f":{name}"


# The columns of the INSERT, in its order, each read from the row's array or from the batch's parameters.
_INSERTED = ("key", "release_id", "channel", "adapter", "target", "part", "label", "after_key", "seq", "generation")
_STAGE_JSON = (
    f"SELECT {', '.join(_column(c) for c in _INSERTED)}, 'pending', :due, :not_before, :due, 0, {_column('sha256')}, "
    ":now, :now FROM json_each(:rows) AS j WHERE true"  # WHERE: so SQLite reads ON CONFLICT as the upsert's, not a join's
)
_STAGE_BY_VALUES, _STAGE_BY_JSON = (_STAGE_SQL.format(rows=rows) for rows in (_STAGE_VALUES, _STAGE_JSON))
_JSON_STAGE = True  # until an SQLite without JSON says otherwise


@dataclass(frozen=True)
class Claimed:
    """A row this process has claimed: enough to match it with its re-rendered delivery."""

    id: int
    key: str
    seq: int
    sha256: str
    attempts: int
    adapter: str
    due: str = ""  # the ledger stamp render is told at sending time, as it was at scheduling


@dataclass(frozen=True)
class Result:
    """What became of one handed delivery, ready to be written."""

    row: Claimed
    state: str  # sent | pending | failed | in_doubt
    started: str
    receipt: Receipt | None = None
    error: str | None = None
    next_attempt: str | None = None


@dataclass(frozen=True)
class ScheduledRelease:
    """The per-release row: which file was scheduled, its hash, and a --at publish time."""

    release_id: str
    path: str
    sha256: str
    publish_at: str | None
    scheduled_at: str | None
    translations: str | None = None  # JSON [{"language", "path", "sha256"}] of its translations, as scheduled


class Ledger:
    """The ledger in one database (any SQLAlchemy URL; SQLite by default)."""

    def __init__(self, url: str):
        from .engine import engine

        self.engine: Engine = engine(url)
        self.postgres = self.engine.dialect.name == "postgresql"
        self.psycopg = self.postgres and self.engine.dialect.driver == "psycopg"

    def let_go(self) -> None:
        """Done with the send loop for now: the connection it kept goes back to the pool."""
        let_go(self.engine)

    @contextmanager
    def _hot(self, single: bool = False) -> Iterator[Any]:
        """A write transaction for the send loop's statements (claim, hand-over, outcomes).

        On SQLite, a cursor of the DBAPI connection itself: SQLAlchemy's per-statement and
        per-transaction machinery was most of a hand-over's cost. On PostgreSQL with psycopg, its
        own cursor too; `single` (the transaction is one statement) runs it in autocommit, which
        spares the round trips of BEGIN and COMMIT. Elsewhere, a SQLAlchemy connection.
        """
        if not self.postgres and self.engine.dialect.name != "sqlite" or self.postgres and not self.psycopg:
            with self.engine.begin() as c:
                yield c
            return
        if self.postgres:
            with _held(self.engine) as conn:
                if single:
                    conn.autocommit = True  # the statement is its own transaction
                    try:
                        yield _Pg(conn)
                    finally:
                        conn.autocommit = False
                    return
                try:
                    yield _Pg(conn)
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
            return
        with _held(self.engine) as conn:  # a pool connection, with the pragmas of engine.py
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")  # the write lock at once, as engine.py's begin does
            try:
                yield cur
            except BaseException:
                if conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
            cur.close()

    def _run(self, c: Any, sql: str, params: Any = None, ids: Sequence[int] | None = None) -> Any:
        """Execute on either kind of transaction of _hot; a list of params runs it for each (executemany).

        `ids` fills `:ids` in `IN :ids` (integers, so written into the text on SQLite and PostgreSQL).
        """
        if isinstance(c, (sqlite3.Cursor, _Pg)):
            if ids is not None:
                sql = sql.replace(":ids", "(" + ",".join(str(int(i)) for i in ids) + ")")
            if isinstance(c, _Pg):
                return c.run(sql, params)
            if isinstance(params, list):
                return c.executemany(sql, params)
            return c.execute(sql, params or {})
        if ids is not None:
            from sqlalchemy import bindparam

            return c.execute(self.sql(sql).bindparams(bindparam("ids", expanding=True)), {**params, "ids": list(ids)})
        return c.execute(self.sql(sql), params)

    def sql(self, sql: str) -> Any:
        """A textual SQL statement, built once per text (parsing them was a sixth of a send's time)."""
        clause = _STATEMENTS.get(sql)
        if clause is None:
            from sqlalchemy import text

            clause = _STATEMENTS[sql] = text(sql)
        return clause

    # --- scheduling -------------------------------------------------------------------------

    def begin_schedule(self, release_id: str, path: str, sha256: str) -> int:
        """Open a new generation for a release; rows written under it stay inert until committed."""
        with self.engine.begin() as c:
            row = c.execute(
                self.sql("SELECT generation, staging FROM ledger_releases WHERE release_id = :r"), {"r": release_id}
            ).first()
            if row is None:
                c.execute(
                    self.sql(
                        "INSERT INTO ledger_releases (release_id, path, sha256, generation, staging) "
                        "VALUES (:r, :p, :s, 0, 1)"
                    ),
                    {"r": release_id, "p": path, "s": sha256},
                )
                return 1
            # Rows left by a schedule that never finished stay inert until a later one commits; then
            # they are either re-rendered, cancelled, or (other channels) checked by hash at send time.
            generation: int = max(row.generation, row.staging) + 1
            c.execute(
                self.sql("UPDATE ledger_releases SET staging = :s WHERE release_id = :r"),
                {"s": generation, "r": release_id},
            )
            return generation

    def stage(self, rows: Sequence[Sequence[Any]], shared: Mapping[str, Any]) -> None:
        """Upsert one batch of rendered deliveries; rows already sent, in flight or in doubt are kept.

        Each row holds the columns of `STAGED` in that order; `shared` the columns of `SHARED`, which
        every row of the batch has in common (a channel's release, adapter, generation, due time, ...).
        On SQLite the batch goes in as one JSON document read by `json_each`, the shared columns bound
        once: one statement, run without the GIL from start to end, so `schedule`'s writer thread really
        overlaps the render (an `executemany` takes the GIL back for every row, and waits for it each time).
        """
        global _JSON_STAGE
        if not rows:
            return
        common = {k: shared[k] for k in SHARED}
        with self._hot() as c:
            if isinstance(c, sqlite3.Cursor) and _JSON_STAGE:
                payload = json.dumps(rows, ensure_ascii=False)
                try:
                    c.execute("SAVEPOINT stage_json")
                    c.execute(_STAGE_BY_JSON, {**common, "rows": payload})
                    c.execute("RELEASE stage_json")
                    return
                except sqlite3.OperationalError as exc:
                    if "json" not in str(exc).lower():
                        raise
                    c.execute("ROLLBACK TO stage_json")  # an SQLite without JSON: row by row, as before
                    c.execute("RELEASE stage_json")
                    _JSON_STAGE = False
            self._run(c, _STAGE_BY_VALUES, [{**common, **dict(zip(STAGED, r, strict=True))} for r in rows])

    def commit_schedule(
        self,
        release_id: str,
        generation: int,
        path: str,
        sha256: str,
        publish_at: str | None,
        channels: Sequence[str],
        now: dt.datetime,
        secrets: Mapping[str, Sequence[str]] | None = None,
        translations: str | None = None,
    ) -> None:
        """Make a staged generation live; what the new render no longer holds is cancelled.

        `secrets`: per channel, the names of the environment variables its render used;
        `translations`: the release's translations as scheduled (JSON, see ScheduledRelease).
        """
        from sqlalchemy import bindparam

        from ..errors import DistributeError

        with self.engine.begin() as c:
            done = c.execute(
                self.sql(
                    "UPDATE ledger_releases SET generation = :g, path = :p, sha256 = :s, publish_at = :a, "
                    "scheduled_at = :now, translations = :t WHERE release_id = :r AND staging = :g"
                ),
                {
                    "g": generation,
                    "p": path,
                    "s": sha256,
                    "a": publish_at,
                    "now": stamp(now),
                    "r": release_id,
                    "t": translations,
                },
            )
            if done.rowcount != 1:
                raise DistributeError(
                    f"release {release_id} was scheduled again by another process meanwhile; run the command again"
                )
            cancel = self.sql(
                "UPDATE deliveries SET state = 'cancelled', updated_at = :now WHERE release_id = :r "
                "AND channel IN :channels AND generation < :g AND state IN ('pending', 'failed')"
            ).bindparams(bindparam("channels", expanding=True))
            if channels:
                c.execute(cancel, {"now": stamp(now), "r": release_id, "channels": list(channels), "g": generation})
            if secrets:
                c.execute(
                    self.sql(
                        "INSERT INTO scheduled_secrets (release_id, channel, names) VALUES (:r, :c, :n) "
                        "ON CONFLICT (release_id, channel) DO UPDATE SET names = excluded.names"
                    ),
                    [{"r": release_id, "c": ch, "n": " ".join(sorted(names))} for ch, names in secrets.items()],
                )

    def scheduled_secrets(self, release_id: str, channel: str) -> list[str]:
        """Names of the environment variables the channel's render used when it was scheduled."""
        with self.engine.begin() as c:
            names = c.execute(
                self.sql("SELECT names FROM scheduled_secrets WHERE release_id = :r AND channel = :c"),
                {"r": release_id, "c": channel},
            ).scalar()
        return str(names).split() if names else []

    def pending_dues(self, release_id: str) -> dict[str, str]:
        """{channel: earliest due} of what a new schedule of the live one would move (pending, failed)."""
        with self.engine.begin() as c:
            rows = c.execute(
                self.sql(
                    "SELECT d.channel, MIN(d.due) FROM deliveries d JOIN ledger_releases r ON r.release_id = d.release_id "
                    "WHERE d.release_id = :r AND d.state IN ('pending', 'failed') AND d.generation <= r.generation "
                    "GROUP BY d.channel"
                ),
                {"r": release_id},
            ).all()
        return {str(channel): str(due) for channel, due in rows}

    def cancel(self, release_id: str, now: dt.datetime) -> int:
        """Cancel what of a release is still pending; returns how many."""
        with self.engine.begin() as c:
            return int(
                c.execute(
                    self.sql(
                        "UPDATE deliveries SET state = 'cancelled', updated_at = :now WHERE release_id = :r AND state = 'pending'"
                    ),
                    {"now": stamp(now), "r": release_id},
                ).rowcount
            )

    def release(self, release_id: str) -> ScheduledRelease | None:
        """The per-release row."""
        with self.engine.begin() as c:
            row = c.execute(
                self.sql(
                    "SELECT release_id, path, sha256, publish_at, scheduled_at, translations FROM ledger_releases "
                    "WHERE release_id = :r"
                ),
                {"r": release_id},
            ).first()
        return ScheduledRelease(*row) if row else None

    # --- what is due ------------------------------------------------------------------------

    def due_channels(self, now: dt.datetime, release_id: str | None = None) -> list[tuple[str, str]]:
        """(release, channel) pairs with a delivery ready now, earliest first."""
        where = READY + (" AND d.release_id = :rid" if release_id else "")
        sql = (
            "SELECT d.release_id, d.channel, MIN(d.next_attempt) AS first FROM deliveries d "
            f"JOIN ledger_releases r ON r.release_id = d.release_id WHERE {where} "
            "GROUP BY d.release_id, d.channel ORDER BY first, d.release_id, d.channel"
        )
        with self.engine.begin() as c:
            return [(r[0], r[1]) for r in c.execute(self.sql(sql), {"now": stamp(now), "rid": release_id})]

    def next_due(self) -> str | None:
        """The earliest time anything pending of a live schedule may go (parts waiting for a part aside)."""
        # Walks the (state, next_attempt) index from the earliest row: one row read, not all of them.
        sql = (
            "SELECT d.next_attempt, d.not_before FROM deliveries d "
            "JOIN ledger_releases r ON r.release_id = d.release_id "
            "WHERE d.state = 'pending' AND d.generation <= r.generation AND (d.after_key IS NULL OR EXISTS "
            "(SELECT 1 FROM deliveries a WHERE a.key = d.after_key AND a.state = 'sent')) "
            "ORDER BY d.next_attempt LIMIT 1"
        )
        with self.engine.begin() as c:
            row = c.execute(self.sql(sql)).first()
        if row is None:
            return None
        return str(max(row[0], row[1] or ""))

    def schedule_mark(self) -> int:
        """A number that grows with every committed schedule (the worker notices new ones by it)."""
        with self.engine.begin() as c:
            return int(c.execute(self.sql("SELECT COALESCE(SUM(generation), 0) FROM ledger_releases")).scalar() or 0)

    def stale_holders(self, now: dt.datetime) -> list[str]:
        """Claim tokens whose holder is gone (or, on another host, whose lease ran out)."""
        at = stamp(now)
        with self.engine.begin() as c:
            holders = c.execute(
                self.sql(
                    "SELECT claim_token, claimed_by, MIN(lease_until) FROM deliveries "
                    "WHERE claim_token IS NOT NULL AND state IN ('claimed', 'sending') GROUP BY claim_token, claimed_by"
                )
            ).all()
        return [t for t, owner, lease in holders if claims.is_stale(owner, lease, at)]

    # --- claims -----------------------------------------------------------------------------

    def claim(
        self,
        release_id: str,
        channel: str,
        limit: int,
        now: dt.datetime,
        token: str,
        lease: float,
        results: Sequence[Result] = (),
    ) -> list[Claimed]:
        """Move up to `limit` ready rows of one channel to `claimed` for this process, in order.

        `results` (outcomes not yet written) are written first, in the same transaction: a
        thread's next part becomes claimable once this one is sent, and the send loop spares a commit.
        """
        import datetime as dt

        pick = f"""SELECT d.id FROM deliveries d JOIN ledger_releases r ON r.release_id = d.release_id
                   WHERE d.release_id = :rid AND d.channel = :channel AND {READY}
                   ORDER BY d.seq LIMIT :limit"""
        if self.postgres:
            # The pick runs once, as a materialized CTE. Inside `WHERE id IN (subquery)` PostgreSQL
            # may plan the subquery as the inner side of a nested-loop semi-join and run it again for
            # each outer row; each run skips the rows this very statement has just updated and locks
            # the next `limit`, so one claim took all 600 rows of a newsletter and the other senders
            # found nothing due (seen in 3 of 20 runs of test_postgres.py, when the plan came out so).
            sql = f"""
                WITH picked AS MATERIALIZED ({pick} FOR UPDATE OF d SKIP LOCKED)
                UPDATE deliveries SET state = 'claimed', claim_token = :token, claimed_by = :owner,
                    lease_until = :lease, updated_at = :now
                FROM picked WHERE deliveries.id = picked.id AND deliveries.state = 'pending'
                RETURNING deliveries.id, key, seq, sha256, attempts, adapter, due
            """
        else:
            # SQLite runs the subquery once (one writer, no row locks). It would walk every pending row
            # of the (state, next_attempt) index to match the few ids; "+state" keeps that index out,
            # so the ids are looked up by primary key (the claim then costs the same at 100,000
            # pending as at 100).
            sql = f"""
                UPDATE deliveries SET state = 'claimed', claim_token = :token, claimed_by = :owner,
                    lease_until = :lease, updated_at = :now
                WHERE id IN ({pick}) AND +state = 'pending'
                RETURNING id, key, seq, sha256, attempts, adapter, due
            """
        params = {
            "token": token,
            "owner": claims.identity(),
            "now": stamp(now),
            "rid": release_id,
            "channel": channel,
            "limit": limit,
            "lease": stamp(now + dt.timedelta(seconds=lease)),
        }
        with self._hot(single=not results) as c:  # one statement, or the outcomes and then it
            self._write(c, results, now)
            rows = [Claimed(*r) for r in self._run(c, sql, params)]
        return sorted(rows, key=lambda r: r.seq)

    def hand(self, row: Claimed | None, token: str, results: Sequence[Result], now: dt.datetime) -> bool:
        """Write finished results and mark `row` as handed to the adapter, in one transaction."""
        marked = self.hand_over([row] if row is not None else [], token, results, now)
        return row is None or row.id in marked

    def hand_over(self, rows: Sequence[Claimed], token: str, results: Sequence[Result], now: dt.datetime) -> set[int]:
        """Write finished results and mark `rows` as handed to the adapter (`sending`), in one transaction.

        Returns the ids marked: a row whose claim was taken over meanwhile is someone else's now.
        """
        if not rows and not results:
            return set()
        failed = any(r.state == "failed" for r in results)
        if self.psycopg and not failed:
            return self._pg_hand_over(rows, token, results, now)
        if _ONE_STEP and not failed and self.engine.dialect.name == "sqlite":
            marked = self._sqlite_hand_over(rows, token, results, now)
            if marked is not None:
                return marked
        with self._hot() as c:
            self._write(c, results, now)
            if not rows:
                return set()
            done = self._run(c, _MARK, {"now": stamp(now), "token": token}, ids=[r.id for r in rows])
            return {int(r[0]) for r in done}

    def _sqlite_hand_over(
        self, rows: Sequence[Claimed], token: str, results: Sequence[Result], now: dt.datetime
    ) -> set[int] | None:
        """hand_over on SQLite as one statement in autocommit: one step, its own transaction (see _HAND_OVER).

        None when it could not be: a mark was refused (the row was taken over; nothing was written),
        or this SQLite has no JSON. The caller then writes it statement by statement.
        """
        payload = _hand_over_rows(results, stamp(now), [r.id for r in rows])
        params = {"rows": payload, "now": stamp(now), "owner": claims.identity(), "token": token}
        with _held(self.engine) as conn:
            try:
                if not _insert_hand_over(conn, params):
                    return None
            except sqlite3.IntegrityError as exc:
                if _REFUSED not in str(exc):
                    raise
                return None  # the statement is undone whole: the careful way marks what it still can
        return {r.id for r in rows}

    def _pg_hand_over(
        self, rows: Sequence[Claimed], token: str, results: Sequence[Result], now: dt.datetime
    ) -> set[int]:
        """hand_over on PostgreSQL as one statement (data-modifying WITH), so one round trip, its own transaction.

        The outcomes and the marks touch different rows (`sending` and `claimed` ones). A failed
        result takes the transaction path instead: the thread parts after it fail too (_fail_dependents).
        """
        params: dict[str, Any] = {"now": stamp(now), "token": token}
        steps = []
        if results:
            params.update(_outcome_arrays(results, now))
            steps += [f"o AS ({_PG_OUTCOMES})", f"a AS ({_PG_ATTEMPTS})"]
        if rows:
            steps.append(f"m AS ({_MARK})")
        sql = "WITH " + ", ".join(steps) + (" SELECT id FROM m" if rows else " SELECT 1")
        with self._hot(single=True) as c:
            done = self._run(c, sql, params, ids=[r.id for r in rows])
            return {int(r[0]) for r in done} if rows else set()

    def renew(self, token: str, now: dt.datetime, lease: float) -> None:
        """Push out the lease of every row this claim holds (long channels on slow servers)."""
        import datetime as dt

        with self.engine.begin() as c:
            c.execute(
                self.sql(
                    "UPDATE deliveries SET lease_until = :l WHERE claim_token = :t AND state IN ('claimed', 'sending')"
                ),
                {"l": stamp(now + dt.timedelta(seconds=lease)), "t": token},
            )

    def unclaim(self, token: str, unhanded: Sequence[int] = ()) -> int:
        """Give back rows claimed but never handed over (`unhanded`: marked `sending` but never pulled by the adapter)."""
        with self._hot() as c:
            if unhanded:
                self._run(
                    c,
                    "UPDATE deliveries SET state = 'claimed' WHERE id IN :ids AND claim_token = :t AND state = 'sending'",
                    {"t": token},
                    ids=unhanded,
                )
            return int(
                self._run(
                    c,
                    "UPDATE deliveries SET state = 'pending', claim_token = NULL, claimed_by = NULL, lease_until = NULL "
                    "WHERE claim_token = :t AND state = 'claimed'",
                    {"t": token},
                ).rowcount
            )

    def _write(self, c: Any, results: Sequence[Result], now: dt.datetime) -> None:
        if not results:
            return
        at = stamp(now)
        owner = claims.identity()
        if isinstance(c, _Pg):
            # One statement each, the rows as arrays: psycopg's executemany costs a pipeline per call.
            params = {**_outcome_arrays(results, now), "now": at}
            self._run(c, _PG_OUTCOMES, params)
            self._run(c, _PG_ATTEMPTS, params)
        elif isinstance(c, sqlite3.Cursor) and _insert_hand_over(
            c, {"rows": _hand_over_rows(results, at, []), "now": at, "owner": owner, "token": ""}
        ):
            pass  # one statement for all results (the rows of _HAND_OVER's view, outcomes only): one step
        else:
            # One statement each for all results (executemany): a batch's outcomes cost one round, not two per row.
            self._run(c, _OUTCOMES, [{**u, "now": at} for u in _outcome_rows(results, at)])
            self._run(c, _ATTEMPTS, [{**u, "now": at, "owner": owner} for u in _attempt_rows(results)])
        self._fail_dependents(c, [res.row.key for res in results if res.state == "failed"], at)

    def _fail_dependents(self, c: Any, keys: list[str], at: str) -> None:
        # A thread part whose predecessor failed can never be posted in its place.
        while keys:
            parent = keys.pop()
            rows = list(
                self._run(c, "SELECT key FROM deliveries WHERE after_key = :k AND state = 'pending'", {"k": parent})
            )
            for (key,) in rows:
                self._run(
                    c,
                    "UPDATE deliveries SET state = 'failed', last_error = :e, updated_at = :now "
                    "WHERE key = :k AND state = 'pending'",
                    {"e": f"not sent: the part before it ({parent}) failed", "now": at, "k": key},
                )
                keys.append(key)

    # --- crashes ----------------------------------------------------------------------------

    def recover(
        self, now: dt.datetime, idempotent: Callable[[str], bool], max_attempts: int, only_token: str | None = None
    ) -> tuple[int, int, int]:
        """Take back stale claims: unhanded rows return to pending; handed ones are retried where
        the adapter is idempotent (up to max_attempts: a delivery that keeps killing its sender
        must not loop forever) and put in doubt elsewhere. Returns (requeued, in doubt, given up)."""
        at = stamp(now)
        # Found outside the write transaction (SQLite allows one writer); a gone holder stays gone,
        # and every update below is conditional on the token and state.
        tokens = self.stale_holders(now) if only_token is None else [only_token]
        if not tokens:
            return 0, 0, 0
        with self.engine.begin() as c:
            requeued = doubtful = given_up = 0
            for token in tokens:
                requeued += c.execute(
                    self.sql(
                        "UPDATE deliveries SET state = 'pending', claim_token = NULL, claimed_by = NULL, lease_until = NULL, "
                        "updated_at = :now WHERE claim_token = :t AND state = 'claimed'"
                    ),
                    {"t": token, "now": at},
                ).rowcount
                handed = c.execute(
                    self.sql(
                        "SELECT id, key, seq, sha256, attempts, adapter, due, claimed_by, updated_at FROM deliveries "
                        "WHERE claim_token = :t AND state = 'sending'"
                    ),
                    {"t": token},
                ).all()
                results = []
                for r in handed:
                    row = Claimed(r.id, r.key, r.seq, r.sha256, r.attempts, r.adapter, r.due)
                    if idempotent(r.adapter) and r.attempts + 1 >= max_attempts:
                        given_up += 1
                        results.append(
                            Result(
                                row,
                                "failed",
                                r.updated_at,
                                error=(
                                    f"interrupted {r.attempts + 1} times while in the hands of its sender (last: "
                                    f"{r.claimed_by}); given up"
                                ),
                            )
                        )
                    elif idempotent(r.adapter):
                        requeued += 1
                        results.append(
                            Result(
                                row,
                                "pending",
                                r.updated_at,
                                error=(
                                    f"interrupted while in the hands of {r.claimed_by}; retried (the {r.adapter} adapter "
                                    "is idempotent)"
                                ),
                                next_attempt=at,
                            )
                        )
                    else:
                        doubtful += 1
                        results.append(
                            Result(
                                row,
                                "in_doubt",
                                r.updated_at,
                                error=(
                                    f"handed to the {r.adapter} server by {r.claimed_by}, which stopped before the outcome "
                                    "was recorded; it may or may not have arrived"
                                ),
                            )
                        )
                self._write(c, results, now)
        return requeued, doubtful, given_up

    def resend_in_doubt(self, now: dt.datetime, release_id: str | None = None) -> int:
        """Put deliveries in doubt back in line (the user asked for it explicitly)."""
        where = " AND release_id = :r" if release_id else ""
        with self.engine.begin() as c:
            return int(
                c.execute(
                    self.sql(
                        "UPDATE deliveries SET state = 'pending', next_attempt = :now, claim_token = NULL, claimed_by = NULL, "
                        f"updated_at = :now WHERE state = 'in_doubt'{where}"
                    ),
                    {"now": stamp(now), "r": release_id},
                ).rowcount
            )

    def resolve(self, release_id: str, state: str, keys: Sequence[str], now: dt.datetime, by: str) -> list[str]:
        """Mark deliveries in doubt as `sent` or `failed` after a check by hand; returns the keys changed.

        Without `keys`, every delivery of the release in doubt. A failed thread part fails the parts after it.
        """
        assert state in ("sent", "failed")
        at = stamp(now)
        note = f"in doubt; marked {state} by hand ({by})"
        with self.engine.begin() as c:
            rows = c.execute(
                self.sql("SELECT key FROM deliveries WHERE release_id = :r AND state = 'in_doubt' ORDER BY seq"),
                {"r": release_id},
            ).all()
            found = [r[0] for r in rows if not keys or r[0] in keys]
            for key in found:
                c.execute(
                    self.sql(
                        "UPDATE deliveries SET state = :s, last_error = :e, updated_at = :now, "
                        "sent_at = CASE WHEN :s = 'sent' THEN :now ELSE sent_at END "
                        "WHERE key = :k AND state = 'in_doubt'"
                    ),
                    {"s": state, "e": note, "now": at, "k": key},
                )
            if state == "failed":
                self._fail_dependents(c, list(found), at)
        return found

    # --- receipts ---------------------------------------------------------------------------

    def receipt(self, key: str) -> Receipt | None:
        """The receipt of a delivery that was sent (thread parts reply to the part before)."""
        from ..adapters.base import Receipt

        with self.engine.begin() as c:
            row = c.execute(
                self.sql("SELECT remote_id, url, detail FROM deliveries WHERE key = :k AND state = 'sent'"), {"k": key}
            ).first()
        return Receipt(row[0] or "", row[1] or "", row[2] or "") if row else None


class LedgerReceipts:
    """adapter.receipts backed by the ledger, so a resumed thread finds the post before it."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def get(self, key: str, /) -> Receipt | None:
        return self.ledger.receipt(key)


_MARK = (
    "UPDATE deliveries SET state = 'sending', updated_at = :now "
    "WHERE id IN :ids AND claim_token = :token AND state = 'claimed' RETURNING id"
)
_OUTCOMES = (
    "UPDATE deliveries SET state = :state, attempts = attempts + 1, last_error = :error, "
    "next_attempt = COALESCE(:next, next_attempt), remote_id = :rid, url = :url, detail = :detail, "
    "sent_at = :sent, updated_at = :now, lease_until = NULL, claim_token = NULL WHERE id = :id"
)
_ATTEMPTS = (
    "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, finished_at, outcome, error, owner) "
    "VALUES (:id, :n, :start, :now, :outcome, :error, :owner)"
)
# On SQLite, a hand-over is one INSERT into a TEMP view whose INSTEAD OF triggers write it: each
# outcome row updates its delivery and adds its attempt, the one `marks` row marks the claimed rows
# `sending` and aborts the whole statement (nothing written) when one was taken over meanwhile. The
# send loop's ledger thread runs it, in autocommit: its own transaction, write lock taken at its
# start (as BEGIN IMMEDIATE; busy_timeout applies), committed and flushed inside the same step.
# Why one step: sqlite3 gives up the GIL for each step of a statement and must take it back after,
# waiting for the main thread (rendering, driving the sockets) to let go of it. As BEGIN, two
# executemany (a step a row), the mark and COMMIT, a hand-over of 4 outcomes and 4 marks made
# about 15 such hand-backs: beside a busy thread (5 ms a switch) it took 82 ms; as one step, 7 ms.
# The view and triggers are TEMP: made on each connection at its first hand-over, never in the file.
_REFUSED = "distribute: a mark was refused"
_HAND_OVER_SCHEMA = (
    "CREATE TEMP VIEW IF NOT EXISTS hand_over "
    "(kind, id, state, error, next, rid, url, detail, sent, n, start, outcome, ids, now, owner, token) AS "
    "SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0",
    "CREATE TEMP TRIGGER IF NOT EXISTS hand_over_outcome INSTEAD OF INSERT ON hand_over "
    "WHEN NEW.kind = 'outcome' BEGIN "
    "UPDATE deliveries SET state = NEW.state, attempts = attempts + 1, last_error = NEW.error, "
    "next_attempt = COALESCE(NEW.next, next_attempt), remote_id = NEW.rid, url = NEW.url, detail = NEW.detail, "
    "sent_at = NEW.sent, updated_at = NEW.now, lease_until = NULL, claim_token = NULL WHERE id = NEW.id; "
    "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, finished_at, outcome, error, owner) "
    "VALUES (NEW.id, NEW.n, NEW.start, NEW.now, NEW.outcome, NEW.error, NEW.owner); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS hand_over_marks INSTEAD OF INSERT ON hand_over "
    "WHEN NEW.kind = 'marks' BEGIN "
    "UPDATE deliveries SET state = 'sending', updated_at = NEW.now "
    "WHERE id IN (SELECT value FROM json_each(NEW.ids)) AND claim_token = NEW.token AND state = 'claimed'; "
    f"SELECT RAISE(ABORT, '{_REFUSED}') WHERE changes() < json_array_length(NEW.ids); END",
)
_HAND_OVER_COLUMNS = ("kind", "id", "state", "error", "next", "rid", "url", "detail", "sent", "n", "start", "outcome")
_HAND_OVER = (
    f"INSERT INTO hand_over ({', '.join(_HAND_OVER_COLUMNS)}, ids, now, owner, token) SELECT "
    + ", ".join(f"json_extract(j.value, '$[{i}]')" for i in range(len(_HAND_OVER_COLUMNS)))
    + f", json_extract(j.value, '$[{len(_HAND_OVER_COLUMNS)}]'), :now, :owner, :token FROM json_each(:rows) AS j"
)
_ONE_STEP = True  # until an SQLite without JSON says otherwise


def _insert_hand_over(c: sqlite3.Connection | sqlite3.Cursor, params: dict[str, Any]) -> bool:
    """Run _HAND_OVER (making the view and triggers on this connection first if need be).

    False, with nothing written, on an SQLite without JSON (and not tried again): the caller writes
    it statement by statement. A refused mark raises sqlite3.IntegrityError (_REFUSED).
    """
    global _ONE_STEP
    if not _ONE_STEP:
        return False
    try:
        try:
            c.execute(_HAND_OVER, params)
        except sqlite3.OperationalError as exc:
            if "no such table: hand_over" not in str(exc):
                raise
            for ddl in _HAND_OVER_SCHEMA:  # this connection's first hand-over
                c.execute(ddl)
            c.execute(_HAND_OVER, params)
    except sqlite3.OperationalError as exc:
        if "json" not in str(exc).lower():
            raise
        _ONE_STEP = False
        return False
    return True


def _hand_over_rows(results: Sequence[Result], at: str, ids: list[int]) -> str:
    """The rows of one INSERT into _HAND_OVER's view, as one JSON document: each outcome, then the marks."""
    rows: list[list[Any]] = [
        ["outcome", u["id"], u["state"], u["error"], u["next"], u["rid"], u["url"], u["detail"], u["sent"]]
        + [a["n"], a["start"], a["outcome"], None]
        for u, a in zip(_outcome_rows(results, at), _attempt_rows(results), strict=True)
    ]
    if ids:
        rows.append(["marks", *([None] * (len(_HAND_OVER_COLUMNS) - 1)), json.dumps(ids)])
    return json.dumps(rows)


# The same two on PostgreSQL, each one statement for all rows: the columns as arrays (o_*, a_*), unnested.
_PG_OUTCOMES = (
    "UPDATE deliveries AS d SET state = v.state, attempts = d.attempts + 1, last_error = v.error, "
    "next_attempt = COALESCE(v.next, d.next_attempt), remote_id = v.rid, url = v.url, detail = v.detail, "
    "sent_at = v.sent, updated_at = :now, lease_until = NULL, claim_token = NULL "
    "FROM unnest(CAST(:o_id AS bigint[]), CAST(:o_state AS text[]), CAST(:o_error AS text[]), "
    "CAST(:o_next AS text[]), CAST(:o_rid AS text[]), CAST(:o_url AS text[]), CAST(:o_detail AS text[]), "
    "CAST(:o_sent AS text[])) AS v(id, state, error, next, rid, url, detail, sent) WHERE d.id = v.id"
)
_PG_ATTEMPTS = (
    "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, finished_at, outcome, error, owner) "
    "SELECT v.id, v.n, v.start, :now, v.outcome, v.error, :a_owner "
    "FROM unnest(CAST(:a_id AS bigint[]), CAST(:a_n AS integer[]), CAST(:a_start AS text[]), "
    "CAST(:a_outcome AS text[]), CAST(:a_error AS text[])) AS v(id, n, start, outcome, error)"
)


def _outcome_rows(results: Sequence[Result], at: str) -> list[dict[str, Any]]:
    """What each result writes to its row (and `now`)."""
    return [
        {
            "id": res.row.id,
            "state": res.state,
            "error": res.error,
            "next": res.next_attempt,
            "rid": res.receipt.remote_id if res.receipt else None,
            "url": res.receipt.url if res.receipt else None,
            "detail": res.receipt.detail if res.receipt else None,
            "sent": at if res.state == "sent" else None,
        }
        for res in results
    ]


def _attempt_rows(results: Sequence[Result]) -> list[dict[str, Any]]:
    """The attempt each result adds to the history (with `now` and `owner`)."""
    return [
        {
            "id": res.row.id,
            "n": res.row.attempts + 1,
            "start": res.started,
            "outcome": "retry" if res.state == "pending" else res.state,
            "error": res.error,
        }
        for res in results
    ]


def _outcome_arrays(results: Sequence[Result], now: dt.datetime) -> dict[str, Any]:
    """The parameters of _PG_OUTCOMES and _PG_ATTEMPTS: one array a column."""
    at = stamp(now)
    arrays: dict[str, Any] = {"a_owner": claims.identity()}
    for prefix, rows in (("o", _outcome_rows(results, at)), ("a", _attempt_rows(results))):
        arrays.update({f"{prefix}_{k}": [r[k] for r in rows] for k in rows[0]})
    return arrays


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_PG_TEXT: dict[str, str] = {}  # SQL text with :name parameters -> psycopg's %(name)s form


HOLD = 5.0  # seconds a connection stays with the hot path after its last use (unpinged, on PostgreSQL)
_HELD: dict[str, tuple[Any, float]] = {}  # database URL -> (pool connection, last used): one per database
_HOLDING = threading.RLock()


@contextmanager
def _held(engine: Engine) -> Iterator[Any]:
    """The DBAPI connection (sqlite3 or psycopg) of the send loop's statements, kept between them.

    Checking one out of the pool and back in costs a ping on PostgreSQL (a round trip) and the
    pool's reset (a ROLLBACK) on both: a send makes hundreds of hand-overs a second, so the
    connection stays out while they come. It goes back to the pool after HOLD idle seconds,
    when it broke, or at let_go() (the end of a dispatch). Callers in one process take turns
    (SQLite's writer lock makes them anyway).
    """
    where = str(engine.url)
    with _HOLDING:
        raw, last = _HELD.pop(where, (None, 0.0))
        if raw is not None and time.monotonic() - last > HOLD:
            raw.close()
            raw = None
        if raw is None:
            raw = engine.raw_connection()
        try:
            yield raw.driver_connection
        except BaseException:
            if _unusable(raw.driver_connection):
                raw.invalidate()  # never back into the pool: a new one next time
            else:
                _HELD[where] = (raw, time.monotonic())
            raise
        _HELD[where] = (raw, time.monotonic())


def _unusable(conn: Any) -> bool:
    """After an error: a connection that broke or was left inside a transaction is not kept."""
    if isinstance(conn, sqlite3.Connection):
        return conn.in_transaction
    return bool(conn.closed or conn.broken or conn.info.transaction_status.name != "IDLE")


def let_go(engine: Engine) -> None:
    """Give the hot path's connection back to the pool (a dispatch ended)."""
    with _HOLDING:
        raw, _ = _HELD.pop(str(engine.url), (None, 0.0))
    if raw is not None:
        raw.close()


class _Pg:
    """A psycopg connection taking the ledger's `:name` statements."""

    def __init__(self, conn: Any):
        self.conn = conn

    def run(self, sql: str, params: Any) -> Any:
        text = _PG_TEXT.get(sql)
        if text is None:
            text = _PG_TEXT[sql] = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
        cur = self.conn.cursor()
        if isinstance(params, list):
            if params:
                cur.executemany(text, params)
            return cur
        return cur.execute(text, params or {})


def new_token() -> str:
    """A fresh claim token (one per channel run)."""
    return uuid.uuid4().hex
