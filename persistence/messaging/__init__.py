"""Messaging's tables and repositories (docs/messaging.md), by job: `rows` (the
tables), `messages` (the queue and its outcomes), `templates`, `consents`,
`recipients` (what a send needs to know of a customer) and `reads` (the API's)."""

from persistence.messaging import consents as consents
from persistence.messaging import messages as messages
from persistence.messaging import recipients as recipients
from persistence.messaging import templates as templates

__all__ = ["consents", "messages", "recipients", "templates"]
