"""Points: the ledger, a customer's balances (`Customer.points`, `Customer.ledger`),
and `pointsAdjust`."""
