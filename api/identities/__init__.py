"""Identities: the ids other systems know a customer by (WeChat, POS, marketplaces).

Who may do what:
- `customerIdentityAttach`, `customerIdentityDetach`: customers:write;
- `Customer.identities`: customers:read (not in a customer token's view).
The ways to name a customer by an identity, a phone or an e-mail
(`customer(identity:)`, `CustomerRefInput`) and `customerUpsert(identities:)` live
with the customer inputs (api/customers/), which every area naming a customer uses.
Rules: domain/identities.py; docs/identities.md.
"""
