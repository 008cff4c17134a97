"""Admin commands on journeys: create, update, activate, pause, resume, archive."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from domain.campaigns import CAMPAIGNS, Campaign, Channel
from domain.clock import Clock
from domain.errors import DomainError, ErrorCode, ErrorCollector, present
from domain.events import EventType
from domain.journeys.model import (
    DEFAULT_ATTRIBUTION_DAYS,
    Journey,
    JourneyFields,
    JourneyStatus,
    Trigger,
    apply_fields,
    references,
)
from domain.journeys.ports import JOURNEYS, JourneyRepository
from domain.journeys.runs import RunReason
from domain.unit_of_work import UnitOfWork, UnitOfWorkFactory

# A journey's campaign has no segment: its audience grows as customers enter the
# journey. `Campaign.segment` reads null for it.
NO_SEGMENT = 0
CAMPAIGN_PREFIX = "Journey: "


class JourneyService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def create(self, fields: JourneyFields) -> Journey:
        now = self.clock.now()
        blank = Journey(
            id=None,
            name="",
            status=JourneyStatus.DRAFT,
            trigger=Trigger(EventType.CUSTOMER_CREATED),
            condition=None,
            delay=timedelta(0),
            variants=[],
            holdout_share=Decimal(0),
            attribution_days=DEFAULT_ATTRIBUTION_DAYS,
            created_at=now,
            updated_at=now,
        )
        journey = apply_fields(blank, fields, creating=True)
        async with self.uow_factory() as uow:
            await self._check_references(uow.repo(JOURNEYS), journey, fields)
            journey = await uow.repo(JOURNEYS).add(journey)
            await uow.commit()
        return journey

    async def update(self, journey_id: int, fields: JourneyFields) -> Journey:
        async with self.uow_factory() as uow:
            repo = uow.repo(JOURNEYS)
            journey = await self._get(repo, journey_id)
            updated = apply_fields(journey, fields, creating=False)
            if updated != journey:
                await self._check_references(repo, updated, fields)
                updated.updated_at = self.clock.now()
                await repo.save(updated)
                if updated.campaign_id is not None and updated.name != journey.name:
                    await self._rename_campaign(uow, updated)
            await uow.commit()
        return updated

    async def activate(self, journey_id: int) -> Journey:
        """DRAFT or PAUSED → ACTIVE. The first activation makes the journey's campaign
        (started now); every activation moves `active_since` to now, so only events
        from now on start runs. Activating an active journey answers it as it is."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            repo = uow.repo(JOURNEYS)
            journey = await self._get(repo, journey_id)
            if journey.status is JourneyStatus.ACTIVE:
                return journey
            if journey.status is JourneyStatus.ARCHIVED:
                raise DomainError(ErrorCode.INVALID, ("id",), "The journey is archived.")
            journey = replace(
                journey, status=JourneyStatus.ACTIVE, active_since=now, updated_at=now
            )
            if journey.campaign_id is None:
                campaign = await uow.repo(CAMPAIGNS).add(
                    Campaign(
                        id=None,
                        name=self._campaign_name(journey),
                        channel=Channel.OTHER,
                        segment_id=NO_SEGMENT,
                        variants=journey.campaign_variants(),
                        holdout_share=journey.holdout_share,
                        attribution_days=journey.attribution_days,
                        starts_at=now,
                        ends_at=None,
                        created_at=now,
                        updated_at=now,
                        started_at=now,
                    )
                )
                journey = replace(journey, campaign_id=campaign.id, activated_at=now)
            await repo.save(journey)
            await uow.commit()
        return journey

    async def resume(self, journey_id: int) -> Journey:
        """PAUSED → ACTIVE: events from now on start runs (none raised while paused);
        runs that were waiting act once due."""
        async with self.uow_factory() as uow:
            journey = await self._get(uow.repo(JOURNEYS), journey_id)
        if journey.status not in (JourneyStatus.PAUSED, JourneyStatus.ACTIVE):
            raise DomainError(
                ErrorCode.INVALID,
                ("id",),
                f"Only a paused journey resumes; this one is {journey.status.value}.",
            )
        return await self.activate(journey_id)

    async def pause(self, journey_id: int) -> Journey:
        """ACTIVE → PAUSED: new events are not taken up (not later either), waiting
        runs wait until it is resumed."""
        return await self._move(journey_id, JourneyStatus.PAUSED, {JourneyStatus.ACTIVE})

    async def archive(self, journey_id: int) -> Journey:
        """For good: its waiting runs are skipped (JOURNEY_ARCHIVED); the runs and the
        campaign's figures stay readable."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            repo = uow.repo(JOURNEYS)
            journey = await self._get(repo, journey_id)
            if journey.status is JourneyStatus.ARCHIVED:
                return journey
            journey = replace(
                journey, status=JourneyStatus.ARCHIVED, archived_at=now, updated_at=now
            )
            await repo.save(journey)
            await repo.skip_waiting(
                present(journey.id, "journey id"), RunReason.JOURNEY_ARCHIVED, now
            )
            await uow.commit()
        return journey

    async def _move(
        self, journey_id: int, to: JourneyStatus, allowed: set[JourneyStatus]
    ) -> Journey:
        async with self.uow_factory() as uow:
            repo = uow.repo(JOURNEYS)
            journey = await self._get(repo, journey_id)
            if journey.status is to:
                return journey
            if journey.status not in allowed:
                raise DomainError(
                    ErrorCode.INVALID,
                    ("id",),
                    f"A {journey.status.value} journey cannot become {to.value}.",
                )
            journey = replace(journey, status=to, updated_at=self.clock.now())
            await repo.save(journey)
            await uow.commit()
        return journey

    @staticmethod
    def _campaign_name(journey: Journey) -> str:
        return (CAMPAIGN_PREFIX + journey.name)[:200]

    async def _rename_campaign(self, uow: UnitOfWork, journey: Journey) -> None:
        campaigns = uow.repo(CAMPAIGNS)
        campaign = await campaigns.get(present(journey.campaign_id, "campaign id"), for_update=True)
        if campaign is not None:
            campaign.name = self._campaign_name(journey)
            campaign.updated_at = self.clock.now()
            await campaigns.save(campaign)

    @staticmethod
    async def _check_references(
        repo: JourneyRepository, journey: Journey, fields: JourneyFields
    ) -> None:
        """Every referenced id exists (NOT_FOUND on the input path that named it)."""
        refs = references(journey, variants_sent=fields.variants is not None)
        if fields.actions is None and fields.variants is None:
            refs = replace(refs, message_templates={}, coupon_templates={}, earning_rules={})
        if fields.trigger is None:
            refs = replace(refs, segments={})
        errors = ErrorCollector()
        for kind, wanted, what in (
            ("message_templates", refs.message_templates, "message template"),
            ("coupon_templates", refs.coupon_templates, "coupon template (not archived)"),
            ("earning_rules", refs.earning_rules, "earning rule (not archived)"),
            ("segments", refs.segments, "saved segment"),
        ):
            if not wanted:
                continue
            found = await repo.existing(kind, list(wanted))
            for missing in sorted(set(wanted) - found):
                errors.add(ErrorCode.NOT_FOUND, wanted[missing], f"No {what} has this id.")
        errors.raise_if_any()

    @staticmethod
    async def _get(repo: JourneyRepository, journey_id: int) -> Journey:
        journey = await repo.get(journey_id, for_update=True)
        if journey is None:
            raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No journey has this id.")
        return journey
