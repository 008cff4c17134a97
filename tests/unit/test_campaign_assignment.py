"""Variant assignment: a pure function of (campaign id, customer id) that every
process computes alike, splitting customers by the weights."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from decimal import Decimal

from scipy.stats import chisquare

from domain.campaigns import BUCKETS, HOLDOUT, Variant, arm_of, bucket_of, thresholds

CUSTOMERS = range(1, 100_001)


def test_the_same_customer_gets_the_same_arm_in_every_call_and_process():
    bounds = thresholds(Decimal("0.1"), [Variant("A", 1), Variant("B", 2)])
    here = [arm_of(42, customer, bounds) for customer in range(1, 200)]
    assert here == [arm_of(42, customer, bounds) for customer in range(1, 200)]
    # Another interpreter (its own hash seed) computes the same buckets.
    script = (
        "from domain.campaigns import bucket_of;"
        "print(','.join(str(bucket_of(42, c)) for c in range(1, 200)))"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert other.stdout.strip() == ",".join(str(bucket_of(42, c)) for c in range(1, 200))


def test_buckets_are_uniform_and_differ_between_campaigns():
    counts = Counter(bucket_of(7, c) * 20 // BUCKETS for c in CUSTOMERS)
    assert chisquare([counts[b] for b in range(20)]).pvalue > 0.001
    same = sum(bucket_of(7, c) == bucket_of(8, c) for c in range(1, 10_001))
    assert same < 10  # independent campaigns agree about once in BUCKETS


def test_the_split_matches_the_weights_and_the_holdout_share():
    variants = [Variant("A", 5), Variant("B", 3), Variant("C", 2)]
    for campaign_id, holdout in [(1, Decimal("0.2")), (99, Decimal("0")), (12345, Decimal("0.05"))]:
        bounds = thresholds(holdout, variants)
        counts = Counter(arm_of(campaign_id, c, bounds) for c in CUSTOMERS)
        total = len(CUSTOMERS)
        shares = {HOLDOUT: float(holdout)} if holdout else {}
        shares.update({v.name: (1 - float(holdout)) * v.weight / 10 for v in variants})
        arms = list(shares)
        assert set(counts) == set(arms)
        observed = [counts[arm] for arm in arms]
        expected = [shares[arm] * total for arm in arms]
        assert chisquare(observed, expected).pvalue > 0.001, (campaign_id, observed, expected)


def test_thresholds_give_the_holdout_the_first_buckets_then_the_variants_by_weight():
    assert thresholds(Decimal("0.2"), [Variant("A", 1), Variant("B", 3)]) == [
        (2000, HOLDOUT),
        (4000, "A"),
        (10000, "B"),
    ]
    assert thresholds(Decimal("0"), [Variant("only", 7)]) == [(10000, "only")]
