// Journeys: each journey with its status, trigger and runs; the chosen one
// (#/journeys/<id>) with its condition, delay and variants, its runs per status and
// reason, and the report of the campaign that measures it: the funnel per variant and
// holdout, the A/B verdict with its interval and the attributed revenue (the
// Campaigns screen's own report). Read-only.
import { gql } from "../api.js";
import { facts, h, section, table } from "../dom.js";
import { dateTime, int, percent } from "../format.js";
import { named, t } from "../i18n.js";
import { CAMPAIGN_REPORT, campaignReport } from "./campaigns.js";

const TRIGGER = "trigger { eventType toStage segmentId }";

export const JOURNEYS = `query ConsoleJourneys {
  journeys(first: 50) {
    totalCount
    nodes { id name status ${TRIGGER} delaySeconds holdoutShare activatedAt variants { name } runTallies { runs } campaign { id } }
  }
  segments { id name }
}`;

export const JOURNEY = `query ConsoleJourney($id: ID!) {
  journey(id: $id) {
    id name status ${TRIGGER} condition delaySeconds holdoutShare attributionDays
    activeSince activatedAt
    variants { name weight actions { kind templateIds marketing points tag couponTemplate { name } } }
    runTallies { status reason runs }
    campaign {
      ${CAMPAIGN_REPORT}
    }
  }
}`;

/** "3 days", "2 h", "15 min" or "at once". */
export function delay(seconds) {
  if (!seconds) return t("atOnce");
  if (seconds % 86400 === 0) return t("days", { n: int(seconds / 86400) });
  if (seconds % 3600 === 0) return t("hours", { n: int(seconds / 3600) });
  return t("minutes", { n: int(Math.round(seconds / 60)) });
}

function trigger(tr, segments) {
  const narrowed = tr.toStage ? t(tr.toStage) : tr.segmentId ? segments.get(tr.segmentId) || tr.segmentId : null;
  return narrowed ? `${tr.eventType} · ${narrowed}` : tr.eventType;
}

function action(a) {
  const kind = t(`action${a.kind}`);
  switch (a.kind) {
    case "SEND_MESSAGE":
      return `${kind} (${t("templatesInOrder", { n: a.templateIds.length })}${a.marketing ? `, ${t("marketing")}` : ""})`;
    case "ISSUE_COUPON":
      return `${kind}: ${a.couponTemplate ? a.couponTemplate.name : "—"}`;
    case "AWARD_POINTS":
      return `${kind}: ${int(a.points)}`;
    default:
      return `${kind}: ${a.tag}`;
  }
}

async function showJourney(box, id, context, segments, stale) {
  const data = await gql(JOURNEY, { id });
  if (stale()) return;
  const j = data.journey;
  const zone = context.program.timezone;
  if (!j) {
    box.replaceChildren(h("p", { class: "error" }, t("failed")));
    return;
  }
  box.replaceChildren(
    h("h2", { id: "journey-name" }, j.name),
    h(
      "div",
      { class: "two" },
      facts([
        [t("status"), h("span", { class: `status ${j.status.toLowerCase()}`, id: "journey-status" }, t(`journey${j.status}`))],
        [t("trigger"), trigger(j.trigger, segments)],
        [t("condition"), j.condition ? h("code", {}, j.condition) : t("none")],
        [t("delay"), delay(j.delaySeconds)],
        [t("holdout"), percent(j.holdoutShare)],
        [t("attributionDays"), t("days", { n: int(j.attributionDays) })],
        [t("activatedAt"), dateTime(j.activatedAt, zone)],
        [t("activeSince"), dateTime(j.activeSince, zone)],
      ]),
      table(
        t("variants"),
        [t("arm"), t("weight"), t("actions")],
        j.variants.map((v) => [v.name, int(v.weight), v.actions.length ? h("ol", { class: "steps" }, v.actions.map((a) => h("li", {}, action(a)))) : t("none")]),
        { class: "compact", id: "variant-table" },
      ),
    ),
    h("h3", {}, t("runs")),
    j.runTallies.length
      ? table(
          null,
          [t("status"), t("reason"), t("runs")],
          j.runTallies.map((r) => [t(`run${r.status}`), named("reason", r.reason), int(r.runs)]),
          { class: "compact", id: "tally-table" },
        )
      : h("p", {}, t("noRuns")),
    j.campaign
      ? section(`${t("measuredBy")}: ${j.campaign.name}`, h("p", { class: "help" }, t("journeyFunnelHelp")), campaignReport(j.campaign))
      : h("p", { id: "no-campaign" }, t("notActivated")),
    h("p", { class: "help" }, t("runsOnCustomer")),
  );
}

export async function renderJourneys(target, context, stale, rest = []) {
  const data = await gql(JOURNEYS);
  if (stale()) return;
  const journeys = data.journeys.nodes;
  const segments = new Map(data.segments.map((s) => [s.id, s.name]));
  target.append(h("h1", {}, t("journeys")));
  // An archived journey is not listed but can still be asked for (a customer's run
  // links to it).
  const asked = rest.length ? decodeURIComponent(rest.join("/")) : null;
  if (!journeys.length && !asked) {
    target.append(h("p", {}, t("noJourneys")));
    return;
  }
  const chosen = asked || (journeys.find((j) => j.campaign) || journeys[0]).id;
  const zone = context.program.timezone;
  target.append(
    section(
      `${t("journeyList")} (${int(data.journeys.totalCount)})`,
      table(
        null,
        [t("name"), t("status"), t("trigger"), t("delay"), t("variants"), t("holdout"), t("activatedAt"), t("runs")],
        journeys.map((j) => [
          h("a", { href: `#/journeys/${encodeURIComponent(j.id)}`, "aria-current": j.id === chosen ? "true" : null }, j.name),
          t(`journey${j.status}`),
          trigger(j.trigger, segments),
          delay(j.delaySeconds),
          j.variants.map((v) => v.name).join(", "),
          percent(j.holdoutShare),
          dateTime(j.activatedAt, zone),
          int(j.runTallies.reduce((sum, r) => sum + r.runs, 0)),
        ]),
        { id: "journey-table" },
      ),
    ),
  );
  const box = h("section", { class: "journey panel", id: "journey", "aria-live": "polite" });
  target.append(box);
  await showJourney(box, chosen, context, segments, stale);
}
