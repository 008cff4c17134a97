"""Journeys: automatic outreach hung on the event stream.

A journey is a trigger (an event type, optionally narrowed to a lifecycle stage or a
segment), an optional condition in the segment language, an optional delay and a
list of actions per variant (send a message, issue a coupon, award points, add or
remove a tag). The worker turns each matching event into one run per (journey,
customer, event) and acts on it once it is due. Modules: `model` (the journey and
its checks), `runs` (a run and its steps), `service` (admin commands), `engine`
(the worker's fan-out and acting).
"""
