"""Scheduled work beside the chat adapters: deadline timers, reminders and the outbox.

The composition root (`bot.runtime.build_background`) wires them to a service: the dispatcher
wakes (and the deadline jobs are re-synchronised) whenever a command queues announcements, and
both poll as a backstop.

Several processes may share one PostgreSQL database: markets and outbox rows are claimed with
`FOR UPDATE SKIP LOCKED` and leases, so each market is closed once and each announcement posted
once. On SQLite one bot process per database file is assumed.
"""
