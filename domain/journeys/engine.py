"""The worker's journey work: turn outbox events into runs, and act on due runs.

Fan-out. One cursor (its own, beside the webhooks') walks the outbox in the order
the `events` API pages it (so an event whose transaction commits late is delayed,
never skipped). For each event, every ACTIVE journey whose trigger matches and that
was active when the event occurred gets a run for (journey, customer, event); the
condition is evaluated then, for all the batch's customers of a journey in one
statement, and a false one records the run SKIPPED (CONDITION_FALSE). The runs and
the cursor's new position commit together: a crash repeats nothing and loses
nothing, and the unique key (journey, customer, event) keeps a repeated insert out.

Acting. A run is due at its event's time plus the journey's delay. Each run is acted
on in one transaction that claims it (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
single writer on SQLite), takes every action through the same unit of work (the
coupon, the points, the tags, the queued message) and marks it finished: either all
of it commits or none does, and a finished run is never claimed again, so several
workers and restarts act on each run exactly once. Runs of a paused journey are not
claimed (they wait); an archived journey's waiting runs are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from domain.campaigns import HOLDOUT, arm_of
from domain.clock import Clock
from domain.coupons import COUPONS, issue_in
from domain.earning_rules.service import EARNING_RULES
from domain.errors import DomainError, ErrorCode, present
from domain.event_payloads import JourneyActedV1, points_earned
from domain.events import EVENTS, Event
from domain.idempotency import retrying
from domain.journeys.model import Action, ActionKind, Journey
from domain.journeys.ports import JOURNEYS
from domain.journeys.runs import JourneyRun, NewRun, RunReason, RunStatus, Step, StepStatus
from domain.messaging.outbound import OutboundMessage, enqueue
from domain.points import POINTS, EntryKind, lot_dates
from domain.program import PROGRAM
from domain.tags import TAGS, Tag, TagSource, tag_key
from domain.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("loyalty.journeys")

MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=1)


@dataclass(frozen=True)
class FanOutReport:
    events: int
    runs: int


def dedupe_key(journey_id: int, run_id: int, step: int) -> str:
    """At most one message per (run, step), whatever happens to the run later."""
    return f"journey:{journey_id}:run:{run_id}:step:{step}"


def new_runs(
    journey: Journey, events: list[Event], passing: set[int] | None, now: datetime
) -> list[NewRun]:
    """The runs `journey` starts for these events (already filtered by `acts_on`):
    WAITING until the delay has passed, or SKIPPED when the condition is false."""
    bounds = journey.thresholds()
    campaign_id = present(journey.campaign_id, "journey campaign")
    found: list[NewRun] = []
    for event in events:
        customer_id = present(event.customer_id, "event customer")
        arm = arm_of(campaign_id, customer_id, bounds)
        base = NewRun(
            journey_id=present(journey.id, "journey id"),
            customer_id=customer_id,
            event_id=present(event.id, "event id"),
            event_type=event.type.value,
            arm=arm,
            status=RunStatus.WAITING,
            due_at=event.occurred_at + journey.delay,
        )
        if passing is not None and customer_id not in passing:
            base = replace(
                base, status=RunStatus.SKIPPED, due_at=now, reason=RunReason.CONDITION_FALSE
            )
        found.append(base)
    return found


class JourneyEngine:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self._current: JourneyRun | None = None

    # ---- fan-out

    async def fan_out(self, batch: int = 500) -> FanOutReport:
        """Runs for the next `batch` outbox events."""
        async with self.uow_factory() as uow:
            repo = uow.repo(JOURNEYS)
            held, cursor = await repo.lock_cursor()
            if not held:
                return FanOutReport(0, 0)
            events = await repo.events_after(cursor, batch)
            if not events:
                return FanOutReport(0, 0)
            now = self.clock.now()
            runs: list[NewRun] = []
            for journey in await repo.active():
                hits = [e for e, _ in events if journey.acts_on(e)]
                if not hits:
                    continue
                passing = None
                if journey.condition:
                    customers = sorted({present(e.customer_id, "customer") for e in hits})
                    passing = await repo.matching(journey.condition, customers, now)
                runs.extend(new_runs(journey, hits, passing, now))
            made = await repo.add_runs(runs, now)
            await repo.save_cursor(events[-1][1])
            await uow.commit()
        return FanOutReport(len(events), made)

    # ---- acting

    async def act_due(self, limit: int = 100) -> list[JourneyRun]:
        """Acts on due runs one transaction each, up to `limit`; the finished runs."""
        done: list[JourneyRun] = []
        while len(done) < limit:
            run = await self.act_one()
            if run is None:
                break
            done.append(run)
        return done

    async def act_one(self) -> JourneyRun | None:
        """Claims and acts on one due run; None when none is due. An unexpected error
        rolls the run's actions back and tries it again later (MAX_ATTEMPTS in all)."""
        self._current = None
        try:
            return await retrying(self._attempt)
        except Exception:
            run = self._current
            if run is None or run.id is None:
                raise
            log.exception("journey %s run %s failed", run.journey_id, run.id)
            return await self._failed_attempt(run.id)

    async def _attempt(self) -> JourneyRun | None:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            repo = uow.repo(JOURNEYS)
            run = await repo.claim_due(now)
            if run is None:
                return None
            self._current = run
            journey = present(await repo.get(run.journey_id), "journey")
            finished = await self._act(uow, journey, run, now)
            await repo.save_run(finished)
            await self._announce(uow, journey, finished, now)
            await uow.commit()
        return finished

    async def _act(
        self, uow: UnitOfWork, journey: Journey, run: JourneyRun, now: datetime
    ) -> JourneyRun:
        repo = uow.repo(JOURNEYS)
        done = replace(run, finished_at=now)
        if not await repo.customer_live(run.customer_id):
            return replace(done, status=RunStatus.SKIPPED, reason=RunReason.CUSTOMER_GONE)
        await repo.join_audience(present(journey.campaign_id, "campaign"), run.customer_id, run.arm)
        if run.arm == HOLDOUT:
            return replace(done, status=RunStatus.HOLDOUT)
        variant = present(journey.variant(run.arm), "variant")
        steps: list[Step] = []
        # What later messages may use: the journey's name, then what earlier steps made.
        variables: dict[str, str] = {"journey_name": journey.name}
        for index, action in enumerate(variant.actions):
            try:
                step = await self._step(uow, journey, run, index, action, variables, now)
            except DomainError as exc:
                steps.append(
                    Step(index, action.kind, StepStatus.FAILED, exc.code.value, exc.message)
                )
                return replace(
                    done, status=RunStatus.FAILED, reason=RunReason.STEP_FAILED, steps=tuple(steps)
                )
            steps.append(step)
        return replace(done, status=RunStatus.COMPLETED, steps=tuple(steps))

    async def _step(
        self,
        uow: UnitOfWork,
        journey: Journey,
        run: JourneyRun,
        index: int,
        action: Action,
        variables: dict[str, str],
        now: datetime,
    ) -> Step:
        customer_id = run.customer_id
        if action.kind is ActionKind.SEND_MESSAGE:
            return await self._send(uow, journey, run, index, action, variables, now)
        if action.kind is ActionKind.ISSUE_COUPON:
            coupon = await issue_in(
                uow,
                present(action.coupon_template_id, "coupon template"),
                customer_id,
                now,
                field_path=("coupon_template_id",),
            )
            template = await uow.repo(COUPONS).get_template(coupon.template_id)
            variables["coupon_code"] = coupon.code
            variables["coupon_expires_at"] = coupon.valid_until.isoformat()
            if template is not None:
                variables["coupon_name"] = template.name
            return Step(
                index,
                action.kind,
                StepStatus.DONE,
                detail={"couponId": coupon.id, "couponCode": coupon.code},
            )
        if action.kind is ActionKind.AWARD_POINTS:
            step = await self._award(uow, journey, index, action, customer_id, now)
            if step.status is StepStatus.DONE:
                variables["points"] = str(step.detail["points"])
            return step
        return await self._tag(uow, index, action, customer_id, now)

    async def _send(
        self,
        uow: UnitOfWork,
        journey: Journey,
        run: JourneyRun,
        index: int,
        action: Action,
        variables: Mapping[str, str],
        now: datetime,
    ) -> Step:
        journey_id = present(journey.id, "journey id")
        queued = await enqueue(
            uow,
            OutboundMessage(
                customer_id=run.customer_id,
                template_ids=action.template_ids,
                dedupe_key=dedupe_key(journey_id, present(run.id, "run id"), index),
                campaign_id=journey.campaign_id,
                variant=run.arm,
                variables=dict(variables),
                marketing=action.marketing,
            ),
            now,
        )
        return Step(
            index,
            action.kind,
            StepStatus.DONE,
            detail={"messageId": queued.message_id, "replayed": queued.replayed},
        )

    async def _award(
        self,
        uow: UnitOfWork,
        journey: Journey,
        index: int,
        action: Action,
        customer_id: int,
        now: datetime,
    ) -> Step:
        """Points out of the earning rule's total budget: what remains of it, then
        nothing (the step says BUDGET_SPENT)."""
        rule_id = present(action.earning_rule_id, "earning rule")
        rules = uow.repo(EARNING_RULES)
        rule = await rules.get(rule_id)
        if rule is None or rule.archived_at is not None:
            raise DomainError(
                ErrorCode.RULE_INACTIVE, ("earning_rule_id",), "The earning rule is archived."
            )
        points = present(action.points, "points")
        if rule.budget.total_points is not None:
            spent = (await rules.lock_budgets([rule_id])).get(rule_id, 0)
            points = min(points, max(rule.budget.total_points - spent, 0))
        if points <= 0:
            return Step(
                index,
                action.kind,
                StepStatus.SKIPPED,
                "BUDGET_SPENT",
                "The earning rule's budget is spent.",
            )
        program = await uow.repo(PROGRAM).get()
        account = await uow.repo(POINTS).load_account(customer_id)
        available_at, expires_at = lot_dates(now, 0, program.expiry_days)
        entry = present(
            account.credit(
                EntryKind.BONUS,
                points,
                now=now,
                available_at=available_at,
                expires_at=expires_at,
                reason=f"journey {journey.name}"[:200],
                rule_id=rule_id,
            ),
            "journey entry",
        )
        await uow.repo(POINTS).save_account(account, [entry])
        await rules.spend_budget(rule_id, points)
        await uow.repo(EVENTS).append(Event.of(points_earned(entry), now))
        return Step(index, action.kind, StepStatus.DONE, detail={"points": points})

    async def _tag(
        self, uow: UnitOfWork, index: int, action: Action, customer_id: int, now: datetime
    ) -> Step:
        name = present(action.tag, "tag")
        tags = uow.repo(TAGS)
        found = await tags.by_keys([tag_key(name)])
        if action.kind is ActionKind.ADD_TAG:
            # A tag made at the same moment by another transaction fails this insert;
            # the run is tried again (`retrying`) and then finds it.
            tag = (
                found[0]
                if found
                else await tags.add(Tag(None, name, source=TagSource.RULE, created_at=now))
            )
            changed = await tags.attach([customer_id], [present(tag.id, "tag id")])
        else:
            changed = await tags.detach([customer_id], [present(t.id, "tag id") for t in found])
        return Step(index, action.kind, StepStatus.DONE, detail={"tag": name, "changed": changed})

    @staticmethod
    async def _announce(uow: UnitOfWork, journey: Journey, run: JourneyRun, now: datetime) -> None:
        """`journey.acted` for a run that acted (or held the customer out), in the
        transaction that finished it."""
        if run.status not in (RunStatus.COMPLETED, RunStatus.HOLDOUT, RunStatus.FAILED):
            return
        payload = JourneyActedV1(
            run.customer_id,
            journey_id=run.journey_id,
            run_id=present(run.id, "run id"),
            status=run.status.value,
            arm=run.arm,
            trigger_event_id=run.event_id,
            campaign_id=present(journey.campaign_id, "campaign"),
        )
        await uow.repo(EVENTS).append(Event.of(payload, now))

    async def _failed_attempt(self, run_id: int) -> JourneyRun | None:
        """Counts the failed attempt: due again after a growing pause, FAILED (ERROR)
        at MAX_ATTEMPTS."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            repo = uow.repo(JOURNEYS)
            run = await repo.run(run_id)
            if run is None or run.status is not RunStatus.WAITING:
                return run
            attempts = run.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                run = replace(
                    run,
                    attempts=attempts,
                    status=RunStatus.FAILED,
                    reason=RunReason.ERROR,
                    finished_at=now,
                )
            else:
                run = replace(run, attempts=attempts, due_at=now + RETRY_BASE * 2**attempts)
            await repo.save_run(run)
            if run.status is RunStatus.FAILED:
                journey = present(await repo.get(run.journey_id), "journey")
                await self._announce(uow, journey, run, now)
            await uow.commit()
        return run
