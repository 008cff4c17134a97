"""Backfill a referral code for every customer

Codes used to be made on first ask (a write inside a query); from now on a customer
gets one when created. This gives every existing customer without a code one, so a
read never has to make it. Same alphabet and length as domain/referrals.py, copied
here so this migration keeps meaning what it meant if the domain ever changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:30:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
BATCH = 1000

customers = sa.table(
    "customers", sa.column("id", sa.BigInteger), sa.column("referral_code", sa.String(16))
)


def _new_code(taken: set[str]) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            taken.add(code)
            return code


def upgrade() -> None:
    connection = op.get_bind()
    taken = set(
        connection.execute(
            sa.select(customers.c.referral_code).where(customers.c.referral_code.is_not(None))
        ).scalars()
    )
    after = 0
    while True:
        ids = list(
            connection.execute(
                sa.select(customers.c.id)
                .where(customers.c.referral_code.is_(None), customers.c.id > after)
                .order_by(customers.c.id)
                .limit(BATCH)
            ).scalars()
        )
        if not ids:
            return
        connection.execute(
            customers.update()
            .where(customers.c.id == sa.bindparam("customer_id"))
            .values(referral_code=sa.bindparam("code")),
            [{"customer_id": i, "code": _new_code(taken)} for i in ids],
        )
        after = ids[-1]


def downgrade() -> None:
    """Codes handed out stay valid: a customer may already have shared theirs."""
