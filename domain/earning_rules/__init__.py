"""Earning rules and promotions: what an order earns beyond its base points."""
