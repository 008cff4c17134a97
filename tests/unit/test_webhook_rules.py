"""Webhook rules without a database: URLs per environment, the address guard, the
retry schedule, sealed secrets and signatures a Standard Webhooks receiver accepts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from domain.errors import DomainError
from domain.webhooks import (
    RetryPolicy,
    SecretBox,
    UnreadableSecret,
    check_url,
    forbidden_address,
    new_secret,
    signed_headers,
)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.16.4.4",
        "192.168.1.1",
        "169.254.169.254",
        "224.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
    ],
)
def test_non_public_addresses_are_forbidden(address):
    assert forbidden_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert not forbidden_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.0.0.5/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/",
    ],
)
def test_production_refuses_http_and_private_targets(url):
    with pytest.raises(DomainError) as refused:
        check_url(url, production=True)
    assert refused.value.field == ("url",)


def test_production_accepts_a_public_https_url():
    assert check_url(" https://crm.example.com/hooks ", production=True) == (
        "https://crm.example.com/hooks"
    )


def test_development_allows_http_only_to_loopback():
    assert check_url("http://127.0.0.1:9000/h", production=False)
    assert check_url("http://localhost:9000/h", production=False)
    assert check_url("http://[::1]:9000/h", production=False)
    assert check_url("https://crm.example.com/h", production=False)
    with pytest.raises(DomainError):
        check_url("http://crm.example.com/h", production=False)
    with pytest.raises(DomainError):
        check_url("http://192.168.1.1/h", production=False)


def test_the_retry_delay_doubles_up_to_the_cap_with_jitter_below_it():
    policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(hours=2), jitter=0.5)
    rng = random.Random(7)
    for failures, nominal in [(1, 30), (2, 60), (3, 120), (8, 3840), (9, 7200), (20, 7200)]:
        for _ in range(20):
            delay = policy.delay(failures, rng).total_seconds()
            assert nominal * 0.5 <= delay <= nominal
    delays = {policy.delay(3, rng) for _ in range(20)}
    assert len(delays) > 1  # jittered, not lockstep


def test_secrets_are_sealed_and_open_only_with_the_same_key():
    secret = new_secret()
    sealed = SecretBox("key one").seal(secret)
    assert secret not in sealed and secret[6:] not in sealed
    assert SecretBox("key one").open(sealed) == secret
    with pytest.raises(UnreadableSecret):
        SecretBox("key two").open(sealed)


def test_headers_carry_one_signature_per_secret_and_each_verifies():
    old, new = new_secret(), new_secret()
    body = '{"type":"customer.created"}'
    headers = signed_headers("msg_1_2", body, datetime.now(UTC), [new, old])
    assert headers["webhook-id"] == "msg_1_2"
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"type": "customer.created"}
