"""Retention metrics: `metrics`, `metricsSeries` and `cohorts`.

Every figure is defined in domain/metrics.py (and docs/metrics.md); this package only
shapes them.
"""
