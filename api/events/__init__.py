"""Events: the outbox read with a resumable cursor (`events:read`: admin and partner keys).

A consumer (an automation, a data pipeline, later the webhook worker) keeps the
`pageInfo.endCursor` of the last page it handled and passes it back as `after`.
The list only ever grows at its end, so resuming never skips nor repeats an event
(persistence/events.py explains how that holds on PostgreSQL, where ids are not
commit order). An empty page has no endCursor: keep the cursor you had.
"""
