"""Customers over GraphQL: the type, `customer`/`customers`, and profile mutations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from api import ids
from api.auth import require
from api.errors import BadUserInput, UserError, decode_input_id, user_errors
from api.money import Money, money
from api.node import Node, register
from api.pagination import Connection, connection, decode_cursor, page_size
from api.protections.inputs import bounded_search
from domain import customers as domain
from domain.access import Scope
from domain.errors import DomainError, InvalidInput
from persistence import customers as reads
from persistence import orders as order_reads
from persistence import points as point_reads

if TYPE_CHECKING:
    from api.classification import CustomerRfmType, LifecycleStage
    from api.feedback import FeedbackType
    from api.orders import OrderType
    from api.points import CustomerPoints, LedgerEntryType
    from api.referrals import ReferralType
    from api.rewards import RedemptionType
    from api.segments import SegmentType
    from api.tags import TagType
    from api.tiers import TierChangeType, TierProgressType, TierType

Gender = strawberry.enum(domain.Gender, name="Gender")
AS_OF = "Default now; only orders placed at or before this instant count."
LOOKBACK = "Only orders placed at most this many days before asOf count."
CustomerSort = strawberry.enum(reads.CustomerSort, name="CustomerSort")


@strawberry.type(name="Customer", description="A shopper, as every channel of the brand sees them.")
class CustomerType(Node):
    id: strawberry.ID
    external_id: str = strawberry.field(description="The storefront's own id for this customer.")
    email: str | None
    phone: str | None = strawberry.field(description="E.164 when the number could be parsed.")
    name: str | None
    birthday: date | None
    gender: Gender | None  # type: ignore[valid-type]
    city: str | None
    acquisition_channel: str | None
    attributes: JSON = strawberry.field(description="Free-form strings, numbers and booleans.")
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None = strawberry.field(
        description="When personal data was erased on request; null if it never was."
    )
    db_id: strawberry.Private[int]
    stats: strawberry.Private[domain.CustomerStats]

    @classmethod
    def from_domain(cls, customer: domain.Customer) -> CustomerType:
        return cls(
            id=strawberry.ID(ids.encode("Customer", customer.id)),
            external_id=customer.external_id,
            email=customer.email,
            phone=customer.phone,
            name=customer.name,
            birthday=customer.birthday,
            gender=customer.gender,
            city=customer.city,
            acquisition_channel=customer.acquisition_channel,
            attributes=customer.attributes,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            erased_at=customer.erased_at,
            db_id=customer.id,
            stats=customer.stats or domain.CustomerStats(),
        )

    @strawberry.field(description="Orders not refunded in full.")
    def orders_count(self) -> int:
        return self.stats.orders_count

    @strawberry.field(description="Net of refunds, over counted orders.")
    async def total_spent(self, info: strawberry.Info) -> Money:
        return money(self.stats.total_spent, (await info.context.program()).currency)

    @strawberry.field(description="totalSpent / ordersCount; null before the first order.")
    async def average_order_value(self, info: strawberry.Info) -> Money | None:
        value = self.stats.average_order_value
        if value is None:
            return None
        return money(value, (await info.context.program()).currency)

    @strawberry.field
    def first_order_at(self) -> datetime | None:
        return self.stats.first_order_at

    @strawberry.field
    def last_order_at(self) -> datetime | None:
        return self.stats.last_order_at

    @strawberry.field(description="Balances: available, pending, debt, lifetime, expiring.")
    def points(self) -> Annotated[CustomerPoints, strawberry.lazy("api.points")]:
        from api.points import CustomerPoints

        return CustomerPoints(
            available=self.stats.points_balance,
            debt=self.stats.points_debt,
            lifetime_earned=self.stats.lifetime_earned,
            customer_key=self.db_id,
        )

    @strawberry.field(description="The points ledger, newest entry first.")
    async def ledger(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[LedgerEntryType, strawberry.lazy("api.points")]]:
        from api.points import LedgerEntryType

        size = page_size(first)
        key = decode_cursor(after, "LEDGER") if after else None
        page = await info.context.read(point_reads.ledger_page, self.db_id, key, size)
        return connection(
            page,
            "LEDGER",
            LedgerEntryType.from_domain,
            lambda: info.context.read(point_reads.count_entries, self.db_id),
            after=after,
        )

    @strawberry.field(
        description="The customer's referral code, made on first ask and never changed."
    )
    async def referral_code(self, info: strawberry.Info) -> str:
        from domain.referrals import ReferralService

        context = info.context
        service = ReferralService(
            context.uow, context.clock, phone_region=context.settings.phone_region
        )
        return await service.code_of(self.db_id)

    @strawberry.field(description="The friends this customer referred, newest first.")
    async def referrals(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[ReferralType, strawberry.lazy("api.referrals")]]:
        from api.referrals import ReferralType
        from persistence import referrals as referral_reads

        size = page_size(first)
        key = decode_cursor(after, "REFERRALS") if after else None
        page = await info.context.read(
            referral_reads.list_referrals, key, size, referrer_id=self.db_id
        )
        return connection(
            page,
            "REFERRALS",
            ReferralType.from_domain,
            lambda: info.context.read(referral_reads.count_referrals, referrer_id=self.db_id),
            after=after,
        )

    @strawberry.field(description="The referral that brought this customer, if any.")
    async def referred_by(
        self, info: strawberry.Info
    ) -> Annotated[ReferralType, strawberry.lazy("api.referrals")] | None:
        from api.referrals import ReferralType

        referral = await info.context.loaders.referral_of_referee.load(self.db_id)
        return ReferralType.from_domain(referral) if referral else None

    @strawberry.field(description="The customer's orders, most recently placed first.")
    async def orders(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[OrderType, strawberry.lazy("api.orders")]]:
        from api.orders import OrderType

        size = page_size(first)
        if after is None:  # the first page: batched across the customers of a list
            page = await info.context.loaders.first_orders.load((self.db_id, size))
        else:
            key = decode_cursor(after, "PLACED_AT_DESC")
            page = await info.context.read(order_reads.orders_of_customer, self.db_id, key, size)
        return connection(
            page,
            "PLACED_AT_DESC",
            OrderType.from_domain,
            lambda: info.context.read(order_reads.count_orders_of_customer, self.db_id),
            after=after,
        )

    @strawberry.field(description="Rewards the customer redeemed, newest first.")
    async def redemptions(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[RedemptionType, strawberry.lazy("api.rewards")]]:
        from api.rewards import redemptions_of

        return await redemptions_of(info, self.db_id, first, after)

    @strawberry.field(description="The customer's tags, by name.")
    async def tags(
        self, info: strawberry.Info
    ) -> list[Annotated[TagType, strawberry.lazy("api.tags")]]:
        from api.tags import TagType

        require(info, Scope.CUSTOMERS_READ)  # internal labels: not for customer tokens
        tags = await info.context.loaders.tags_of_customer.load(self.db_id)
        return [TagType.from_domain(tag) for tag in tags]

    @strawberry.field(
        description="The saved and built-in segments this customer is in as of asOf (default now)."
    )
    async def segments(
        self, info: strawberry.Info, as_of: datetime | None = None
    ) -> list[Annotated[SegmentType, strawberry.lazy("api.segments")]]:
        from api.segments import SegmentType, _as_of

        require(info, Scope.SEGMENTS_READ)
        found = await info.context.loaders.segments_of_customer.load(
            (self.db_id, _as_of(info, as_of))
        )
        return [SegmentType.from_domain(segment) for segment in found]

    @strawberry.field(description="The customer's NPS and CSAT answers, newest first.")
    async def feedback(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[FeedbackType, strawberry.lazy("api.feedback")]]:
        from api.feedback import feedback_connection

        return await feedback_connection(info, self.db_id, first, after)

    @strawberry.field(description="The lifecycle stage from counted orders up to asOf.")
    async def lifecycle_stage(
        self,
        info: strawberry.Info,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(description=AS_OF),
        ] = None,
    ) -> Annotated[LifecycleStage, strawberry.lazy("api.classification")]:  # type: ignore[valid-type]
        from api.classification import customer_lifecycle_stage

        return await customer_lifecycle_stage(info, self.db_id, as_of)

    @strawberry.field(description="RFM as of asOf; null when no counted order is in the window.")
    async def rfm(
        self,
        info: strawberry.Info,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(description=AS_OF),
        ] = None,
        lookback_days: Annotated[
            int | None,
            strawberry.argument(
                description="Only orders at most this many days before asOf count."
            ),
        ] = None,
    ) -> Annotated[CustomerRfmType, strawberry.lazy("api.classification")] | None:
        from api.classification import customer_rfm

        return await customer_rfm(info, self.db_id, as_of, lookback_days)

    @strawberry.field(description="The tier the customer holds; null when none.")
    async def tier(
        self, info: strawberry.Info
    ) -> Annotated[TierType, strawberry.lazy("api.tiers")] | None:
        from api.tiers import customer_tier

        return await customer_tier(info, self.db_id)

    @strawberry.field(description="Tier held, the next one, and the qualifying value as of now.")
    async def tier_progress(
        self, info: strawberry.Info
    ) -> Annotated[TierProgressType, strawberry.lazy("api.tiers")]:
        from api.tiers import customer_tier_progress

        return await customer_tier_progress(info, self.db_id)

    @strawberry.field(description="The customer's tier moves, newest first (first ≤ 100).")
    async def tier_history(
        self, info: strawberry.Info, first: int = 20
    ) -> list[Annotated[TierChangeType, strawberry.lazy("api.tiers")]]:
        from api.tiers import customer_tier_history

        return await customer_tier_history(info, self.db_id, first)


@register("Customer", Scope.CUSTOMERS_READ, owner=lambda node: node.db_id)
async def fetch_customer(info: strawberry.Info, key: int) -> CustomerType | None:
    customer = await info.context.loaders.customer.load(key)
    return CustomerType.from_domain(customer) if customer else None


@strawberry.input
class CustomerFilter:
    search: str | None = strawberry.field(
        default=None,
        description="Exact externalId or email, phone number ending, or part of the name.",
    )
    tag: str | None = strawberry.field(default=None, description="Only customers with this tag.")
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_erased: bool = False


@strawberry.input(description="Profile fields; an omitted field is left as it is, null clears it.")
class CustomerUpsertInput:
    external_id: str
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    birthday: date | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET  # type: ignore[valid-type]
    city: str | None = strawberry.UNSET
    acquisition_channel: str | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET


@strawberry.input(description="Profile fields; an omitted field is left as it is, null clears it.")
class CustomerUpdateInput:
    id: strawberry.ID
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    birthday: date | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET  # type: ignore[valid-type]
    city: str | None = strawberry.UNSET
    acquisition_channel: str | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET


@strawberry.input(
    name="CustomerRefInput",
    description="A customer named by another mutation: exactly one of id and externalId. "
    "With externalId, profile fields create the customer on first sight (and are ignored "
    "once it exists).",
)
class CustomerRefInput:
    id: strawberry.ID | None = None
    external_id: str | None = None
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    birthday: date | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET  # type: ignore[valid-type]
    city: str | None = strawberry.UNSET
    acquisition_channel: str | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET


PROFILE_FIELDS = (
    "email",
    "phone",
    "name",
    "birthday",
    "gender",
    "city",
    "acquisition_channel",
    "attributes",
)


def customer_ref_of(data: CustomerRefInput, path: tuple[str, ...]) -> domain.CustomerRef:
    """The domain reference; profile fields count as given only when any was sent."""
    key = decode_input_id(data.id, "Customer", (*path, "id")) if data.id else None
    given = any(getattr(data, f) is not strawberry.UNSET for f in PROFILE_FIELDS)
    profile = (
        domain.ProfileInput(**{f: unset_to_domain(getattr(data, f)) for f in PROFILE_FIELDS})
        if given
        else None
    )
    return domain.CustomerRef(key, data.external_id, profile)


@strawberry.input
class CustomerEraseInput:
    id: strawberry.ID


@strawberry.type
class CustomerUpsertPayload:
    customer: CustomerType | None
    created: bool = strawberry.field(description="True when this call created the customer.")
    user_errors: list[UserError]


@strawberry.type
class CustomerUpdatePayload:
    customer: CustomerType | None
    user_errors: list[UserError]


@strawberry.type
class CustomerErasePayload:
    customer: CustomerType | None
    user_errors: list[UserError]


def unset_to_domain(value: Any) -> Any:
    return domain.UNSET if value is strawberry.UNSET else value


def profile_of(data: CustomerUpsertInput | CustomerUpdateInput) -> domain.ProfileInput:
    return domain.ProfileInput(
        email=unset_to_domain(data.email),
        phone=unset_to_domain(data.phone),
        name=unset_to_domain(data.name),
        birthday=unset_to_domain(data.birthday),
        gender=unset_to_domain(data.gender),
        city=unset_to_domain(data.city),
        acquisition_channel=unset_to_domain(data.acquisition_channel),
        attributes=unset_to_domain(data.attributes),
    )


def customer_service(info: strawberry.Info) -> domain.CustomerService:
    context = info.context
    return domain.CustomerService(
        context.uow(), context.clock, phone_region=context.settings.phone_region
    )


@strawberry.type
class CustomerQuery:
    @strawberry.field(description="One customer by global ID or by the storefront's externalId.")
    async def customer(
        self,
        info: strawberry.Info,
        id: strawberry.ID | None = None,
        external_id: str | None = None,
    ) -> CustomerType | None:
        require(info, Scope.CUSTOMERS_READ)
        if (id is None) == (external_id is None):
            raise BadUserInput("Give exactly one of id and externalId.")
        if id is not None:
            try:
                key = ids.decode(id, "Customer")
            except ValueError:
                return None
            customer = await info.context.loaders.customer.load(key)
        else:
            customer = await info.context.loaders.customer_by_external_id.load(external_id)
        return CustomerType.from_domain(customer) if customer else None

    @strawberry.field(description="Customers, newest first unless sorted otherwise.")
    async def customers(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: CustomerFilter | None = None,
        sort: CustomerSort = reads.CustomerSort.CREATED_AT_DESC,  # type: ignore[valid-type]
    ) -> Connection[CustomerType]:
        require(info, Scope.CUSTOMERS_READ)
        size = page_size(first)
        key = decode_cursor(after, sort.value, (datetime, int)) if after else None
        given = filter or CustomerFilter()
        criteria = reads.CustomerFilter(
            search=bounded_search(given.search, "filter.search"),
            tag=given.tag,
            created_after=given.created_after,
            created_before=given.created_before,
            include_erased=given.include_erased,
        )
        page = await info.context.read(reads.list_customers, criteria, sort, key, size)
        return connection(
            page,
            sort.value,
            CustomerType.from_domain,
            lambda: info.context.read(reads.count_customers, criteria),
            after=after,
        )


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(description="Creates the customer with this externalId, or updates it.")
    async def customer_upsert(
        self, info: strawberry.Info, input: CustomerUpsertInput
    ) -> CustomerUpsertPayload:
        require(info, Scope.CUSTOMERS_WRITE)
        command = domain.UpsertCustomer(input.external_id, profile_of(input))
        try:
            result = await customer_service(info).upsert(command)
        except (DomainError, InvalidInput) as exc:
            return CustomerUpsertPayload(customer=None, created=False, user_errors=user_errors(exc))
        return CustomerUpsertPayload(
            customer=CustomerType.from_domain(result.customer),
            created=result.created,
            user_errors=[],
        )

    @strawberry.mutation(description="Changes profile fields of an existing customer.")
    async def customer_update(
        self, info: strawberry.Info, input: CustomerUpdateInput
    ) -> CustomerUpdatePayload:
        require(info, Scope.CUSTOMERS_WRITE)
        try:
            key = decode_input_id(input.id, "Customer", ("input", "id"))
            customer = await customer_service(info).update(
                domain.UpdateCustomer(key, profile_of(input))
            )
        except (DomainError, InvalidInput) as exc:
            return CustomerUpdatePayload(customer=None, user_errors=user_errors(exc))
        return CustomerUpdatePayload(customer=CustomerType.from_domain(customer), user_errors=[])

    @strawberry.mutation(
        description="Erases a customer's personal data (PIPL/GDPR request). The record and "
        "its ledger stay for accounting; the old email, phone and externalId no longer find it."
    )
    async def customer_erase(
        self, info: strawberry.Info, input: CustomerEraseInput
    ) -> CustomerErasePayload:
        require(info, Scope.CUSTOMERS_ERASE)
        try:
            key = decode_input_id(input.id, "Customer", ("input", "id"))
            customer = await customer_service(info).erase(key)
        except (DomainError, InvalidInput) as exc:
            return CustomerErasePayload(customer=None, user_errors=user_errors(exc))
        return CustomerErasePayload(customer=CustomerType.from_domain(customer), user_errors=[])
