"""API keys: expiry, and roles as named sets of scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.access import ROLE_SCOPES, ApiKey, Role, Scope, hash_key, new_key_text


def test_api_keys_expire_and_roles_bundle_scopes():
    now = datetime(2024, 6, 1, tzinfo=UTC)
    secret = new_key_text()
    key = ApiKey(1, "k", Role.ANALYST, secret[:9], hash_key(secret), now, now + timedelta(hours=1))
    assert key.is_usable(now)
    assert not key.is_usable(now + timedelta(hours=1))
    assert key.scopes == ROLE_SCOPES[Role.ANALYST]
    assert Scope.METRICS_READ in key.scopes and Scope.CUSTOMERS_WRITE not in key.scopes
    assert ApiKey(2, "a", Role.ADMIN, "", "", now).scopes == set(Scope)
    assert hash_key(secret) != secret and len(hash_key(secret)) == 64


def test_the_readme_role_table_matches_the_code():
    """The README's role table is what admins read before handing out keys."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Authentication and roles", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            scope = cells[0].strip("`")
            table[scope] = {role for role, cell in zip(Role, cells[1:], strict=True) if cell}
    assert table == {
        scope.value: {role for role in Role if scope in ROLE_SCOPES[role]} for scope in Scope
    }
