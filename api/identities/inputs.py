"""Inputs of the identity mutations."""

from __future__ import annotations

import strawberry

from api.customers.inputs import CustomerRefInput, IdentityInput


@strawberry.input(description="customer: an existing customer, named in any one way.")
class CustomerIdentityAttachInput:
    customer: CustomerRefInput
    identity: IdentityInput


@strawberry.input(description="customer: an existing customer, named in any one way.")
class CustomerIdentityDetachInput:
    customer: CustomerRefInput
    identity: IdentityInput
