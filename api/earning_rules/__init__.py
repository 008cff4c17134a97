"""Earning rules: what orders earn beyond their base points, kept by an admin."""
