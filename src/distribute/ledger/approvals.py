"""Approvals in the workspace database: who signed off which version (content lock) of a release.

The rows only record; what a lock covers and whether enough approvals hold is decided in
send/approval.py. A revoked approval stays, marked, so `status` can say who took it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..clock import stamp

if TYPE_CHECKING:
    import datetime as dt

    from .store import Ledger

_COLUMNS = "id, release_id, name, lock, approved_at, note, parts, revoked_at, revoked_by"


@dataclass(frozen=True)
class Approval:
    """One sign-off as recorded."""

    id: int
    release_id: str
    name: str
    lock: str
    approved_at: str
    note: str | None
    parts: str  # JSON: the pieces of the lock (send/approval.py), to tell what changed since
    revoked_at: str | None = None
    revoked_by: str | None = None


def same_person(a: str, b: str) -> bool:
    """Whether two approver names are one person ("Ana Kim", "ana  kim")."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


class Approvals:
    """The approvals of every release in one ledger database."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def of(self, release_id: str) -> list[Approval]:
        """Every approval of a release, revoked ones too, oldest first."""
        with self.ledger.engine.begin() as c:
            rows = c.execute(
                self.ledger.sql(f"SELECT {_COLUMNS} FROM approvals WHERE release_id = :r ORDER BY approved_at, id"),
                {"r": release_id},
            ).all()
        return [Approval(*r) for r in rows]

    def add(
        self, release_id: str, name: str, lock: str, parts: str, now: dt.datetime, note: str | None = None
    ) -> tuple[Approval, bool]:
        """Record `name`'s approval of the version `lock`: (the approval, whether it is new).

        The same person approving the same version again changes nothing (the first time counts).
        """
        with self.ledger.engine.begin() as c:
            rows = c.execute(
                self.ledger.sql(
                    f"SELECT {_COLUMNS} FROM approvals WHERE release_id = :r AND lock = :l AND revoked_at IS NULL"
                ),
                {"r": release_id, "l": lock},
            ).all()
            for row in rows:
                if same_person(row.name, name):
                    return Approval(*row), False
            c.execute(
                self.ledger.sql(
                    "INSERT INTO approvals (release_id, name, lock, approved_at, note, parts) "
                    "VALUES (:r, :n, :l, :at, :note, :parts)"
                ),
                {"r": release_id, "n": name, "l": lock, "at": stamp(now), "note": note, "parts": parts},
            )
        return Approval(0, release_id, name, lock, stamp(now), note, parts), True

    def revoke(self, release_id: str, name: str, now: dt.datetime, by: str) -> list[Approval]:
        """Take back every standing approval `name` gave the release; returns those revoked."""
        with self.ledger.engine.begin() as c:
            rows = c.execute(
                self.ledger.sql(f"SELECT {_COLUMNS} FROM approvals WHERE release_id = :r AND revoked_at IS NULL"),
                {"r": release_id},
            ).all()
            found = [Approval(*r) for r in rows if same_person(r.name, name)]
            for a in found:
                c.execute(
                    self.ledger.sql("UPDATE approvals SET revoked_at = :at, revoked_by = :by WHERE id = :id"),
                    {"at": stamp(now), "by": by, "id": a.id},
                )
        return found

    def set_scheduled(self, release_id: str, lock: str, parts: str) -> None:
        """Remember the lock of the release as it is being scheduled (checked at sending time)."""
        with self.ledger.engine.begin() as c:
            c.execute(
                self.ledger.sql(
                    "INSERT INTO scheduled_locks (release_id, lock, parts) VALUES (:r, :l, :p) "
                    "ON CONFLICT (release_id) DO UPDATE SET lock = excluded.lock, parts = excluded.parts"
                ),
                {"r": release_id, "l": lock, "p": parts},
            )

    def forget_scheduled(self, release_id: str) -> None:
        """Scheduled without approvals asked for: a lock kept from before must not stand for this schedule."""
        with self.ledger.engine.begin() as c:
            c.execute(self.ledger.sql("DELETE FROM scheduled_locks WHERE release_id = :r"), {"r": release_id})

    def scheduled(self, release_id: str) -> tuple[str, str] | None:
        """(lock, parts) of the release as last scheduled with approvals required, else None."""
        with self.ledger.engine.begin() as c:
            row = c.execute(
                self.ledger.sql("SELECT lock, parts FROM scheduled_locks WHERE release_id = :r"), {"r": release_id}
            ).first()
        return (str(row[0]), str(row[1])) if row else None
