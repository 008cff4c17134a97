"""`me: Member`: what a customer token may read, as its own type.

Every field reachable from `Member` answers a token for its own data, so a
mini-program's codegen sees exactly the fields that work and no field can null
the shopper's whole answer. The area builds small `Member…` types over the other
areas' loaders and reads; it leaves out whatever aggregates other customers
(`Tier.customerCount`) or names other people (a referral's other side, its code).
"""
