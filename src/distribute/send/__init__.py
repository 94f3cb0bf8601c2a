"""Getting a release out: schedule, dispatch, one channel's run, retries, status, preview, outbox, worker, cron."""
