"""`earningRuleCreate`, `earningRuleUpdate`, `earningRuleArchive`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import requires_api_key
from api.earning_rules.inputs import (
    EarningRuleArchiveInput,
    EarningRuleCreateInput,
    EarningRuleUpdateInput,
    rule_fields,
)
from api.earning_rules.types import EarningRuleType
from api.errors import UserError, decode_input_id
from api.payloads import refusals_as_user_errors
from domain.access import Scope
from domain.earning_rules.service import EarningRuleService


@strawberry.type
class EarningRulePayload:
    earning_rule: EarningRuleType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _service(info: strawberry.Info) -> EarningRuleService:
    return EarningRuleService(info.context.uow, info.context.clock)


@mutation_fields(position=87)
@strawberry.type
class EarningRuleMutation:
    @strawberry.mutation(
        description="Adds an earning rule (double points this weekend, 3× on a category, "
        "a first-order bonus…). It applies to orders placed inside its active window.",
        permission_classes=[requires_api_key(Scope.PROMOTIONS_WRITE)],
    )
    @refusals_as_user_errors(EarningRulePayload)
    async def earning_rule_create(
        self, info: strawberry.Info, input: EarningRuleCreateInput
    ) -> EarningRulePayload:
        rule = await _service(info).create(rule_fields(input))
        return EarningRulePayload(earning_rule=EarningRuleType.from_domain(rule))

    @strawberry.mutation(
        description="Changes an earning rule; orders already recorded keep what they earned.",
        permission_classes=[requires_api_key(Scope.PROMOTIONS_WRITE)],
    )
    @refusals_as_user_errors(EarningRulePayload)
    async def earning_rule_update(
        self, info: strawberry.Info, input: EarningRuleUpdateInput
    ) -> EarningRulePayload:
        key = decode_input_id(input.id, "EarningRule", ("input", "id"))
        rule = await _service(info).update(key, rule_fields(input))
        return EarningRulePayload(earning_rule=EarningRuleType.from_domain(rule))

    @strawberry.mutation(
        description="Stops a rule for good; breakdowns that name it keep it.",
        permission_classes=[requires_api_key(Scope.PROMOTIONS_WRITE)],
    )
    @refusals_as_user_errors(EarningRulePayload)
    async def earning_rule_archive(
        self, info: strawberry.Info, input: EarningRuleArchiveInput
    ) -> EarningRulePayload:
        key = decode_input_id(input.id, "EarningRule", ("input", "id"))
        rule = await _service(info).archive(key)
        return EarningRulePayload(earning_rule=EarningRuleType.from_domain(rule))
