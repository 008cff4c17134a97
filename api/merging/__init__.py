"""Duplicates and merging: `duplicateCandidates` (pairs of customers that look like one
person) and `customerMerge` (one customer into another), both for ADMIN keys
(customers:merge). The rules are in domain/merging.py; docs/merging.md."""
