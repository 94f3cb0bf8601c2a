"""SQL text shared by the ledger's claim query and the cron fast path (stdlib sqlite3, no SQLAlchemy).

Kept free of imports, so `send/cron.py` can ask "is anything due?" in a few milliseconds.
"""

# A pending row of the live schedule whose time has come and whose thread parent is sent
# (the ledger's claim query uses the same text, so the two can never disagree).
READY = """
    d.state = 'pending' AND d.generation <= r.generation
    AND d.next_attempt <= :now AND (d.not_before IS NULL OR d.not_before <= :now)
    AND (d.after_key IS NULL OR EXISTS (SELECT 1 FROM deliveries a WHERE a.key = d.after_key AND a.state = 'sent'))
"""
ANY_READY = f"SELECT 1 FROM deliveries d JOIN ledger_releases r ON r.release_id = d.release_id WHERE {READY} LIMIT 1"
# "claim_token IS NOT NULL" lets the (partial) claim index answer: rows holding a claim are few.
HOLDERS = (
    "SELECT claimed_by, MIN(lease_until) FROM deliveries WHERE claim_token IS NOT NULL "
    "AND state IN ('claimed', 'sending') GROUP BY claim_token, claimed_by"
)
