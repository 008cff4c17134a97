"""Messaging: templates, consent, message outcomes, and the unsubscribe and receipt routes."""
