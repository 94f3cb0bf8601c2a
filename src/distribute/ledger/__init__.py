"""The delivery ledger: database engine, tables, claims, the feed archive.

Kept empty on purpose: the cron fast path imports `distribute.ledger.store.sql` without SQLAlchemy."""
