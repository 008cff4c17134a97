"""API key inputs."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.api_keys.types import Role


@strawberry.input
class ApiKeyCreateInput:
    name: str
    role: Role  # type: ignore[valid-type]
    expires_at: datetime | None = None


@strawberry.input
class ApiKeyRevokeInput:
    id: strawberry.ID
