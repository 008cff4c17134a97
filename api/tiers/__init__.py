"""Tiers: the Tier type, `tiers`, tier administration, and the tier fields of
Customer (`tier`, `tierProgress`, `tierHistory`), all through loaders."""
