"""Messaging: templates, consent, the channels and the send pipeline (docs/messaging.md).

A caller (a journey, an operator's tool) hands a message to `outbound.enqueue` inside
its own transaction; the worker's delivery pass (`pipeline.MessagePipeline`) claims
due messages, renders them, checks consent, caps, quiet hours, rate and address, and
tries the message's templates in order over their channels, recording every outcome
and the campaign touchpoints.
"""
