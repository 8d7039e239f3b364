"""APScheduler set-up and thin recurring jobs (SLA nags, reminders, digests, score decay).

Due times live in the database (`store.models.Timer`, `Digest`); jobs here only
ask the use cases in `bot/` what is due now. The outbox dispatcher
(`bot.outbox`) is event-driven and does not run through the scheduler.
"""
