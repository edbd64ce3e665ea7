"""A database-backed job queue and the worker that drains it.

Several workers (threads or processes, on one or many machines) drain the same queue. A
claimed job carries a lease that its worker renews; a job whose worker dies is claimed again
when the lease runs out. Handlers must be idempotent per job (the ingestion pipeline records
the version it creates on the job, so a retry continues that version instead of making a
second one).
"""
