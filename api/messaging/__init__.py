"""Messaging: templates, consent, what became of each message, and the two routes a
provider or a mail client calls (the unsubscribe link, the SMS delivery receipts).

Who may do what:
- `messageTemplateCreate/Update/Archive`: campaigns:write (API keys only);
  `messageTemplates`, `messageTemplate`, `messagePreview`: campaigns:read;
- `consentUpdate`: consent:write (storefront keys for any customer, a customer
  token for its own); `Customer.consents`, `Customer.messages`: customers:read.
Rules: domain/messaging/; docs/messaging.md.
"""
