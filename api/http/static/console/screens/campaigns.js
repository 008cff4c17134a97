// Campaigns: per campaign, the funnel of each variant and the holdout, the A/B
// verdict with each comparison's 95 % interval, and the revenue attributed to each arm.
import { gql } from "../api.js";
import { chart } from "../charts.js";
import { h, table } from "../dom.js";
import { dateTime, decimal, int, money, percent } from "../format.js";
import { t } from "../i18n.js";

export const CAMPAIGNS = `query ConsoleCampaigns { campaigns(first: 50) { nodes { id name channel startedAt isAbTest } } }`;
// What a campaign's report reads; the Journeys screen asks it of a journey's campaign.
export const CAMPAIGN_REPORT = `id name channel startedAt attributionDays isAbTest
    funnel {
      arm audience sent delivered opened clicked addedToCart ordered
      conversionRate attributedOrders attributedRevenue { amount currency } incrementalLift
    }
    abTest {
      verdict
      comparisons { variant baseline lift relativeLift liftCiLow liftCiHigh pValue verdict winner moreNeeded }
    }`;
export const CAMPAIGN = `query ConsoleCampaign($id: ID!) {
  campaign(id: $id) {
    ${CAMPAIGN_REPORT}
  }
}`;

const STEPS = ["audience", "sent", "delivered", "opened", "clicked", "addedToCart", "ordered"];
let chosen = null;

function interval(c) {
  if (c.liftCiLow === null || c.liftCiHigh === null) return "—";
  return `[${percent(c.liftCiLow)}, ${percent(c.liftCiHigh)}]`;
}

function abTest(campaign) {
  if (!campaign.abTest) return h("p", {}, t("notAbTest"));
  const test = campaign.abTest;
  return h(
    "div",
    {},
    h("p", { class: `verdict ${test.verdict.toLowerCase()}`, id: "verdict" }, `${t("verdict")}: `, h("strong", {}, t(test.verdict))),
    table(
      null,
      [t("arm"), t("lift"), t("interval"), t("pValue"), t("verdict"), t("winner"), t("moreNeeded")],
      test.comparisons.map((c) => [
        `${c.variant} / ${c.baseline}`,
        c.lift === null ? "—" : `${c.lift >= 0 ? "+" : ""}${percent(c.lift)}`,
        interval(c),
        c.pValue === null ? "—" : decimal(c.pValue, 3),
        t(c.verdict),
        c.winner || "—",
        c.moreNeeded === null ? "—" : int(c.moreNeeded),
      ]),
      { id: "ab-table" },
    ),
  );
}

/** A campaign's funnel per arm (chart and table, with attributed orders and
 * revenue) and its A/B verdict, from the fields CAMPAIGN_REPORT names. */
export function campaignReport(c) {
  const arms = c.funnel;
  return h(
    "div",
    { class: "report" },
    arms.length
      ? chart(
          t("funnel"),
          {
            grid: { left: 56, right: 16, top: 40, bottom: 32 },
            legend: { top: 0 },
            xAxis: { type: "category", data: STEPS.map((s) => t(s)) },
            yAxis: { type: "value", minInterval: 1 },
            tooltip: { trigger: "axis", renderMode: "richText" },
            series: arms.map((a) => ({ name: a.arm, type: "bar", data: STEPS.map((s) => a[s]) })),
          },
          { describe: arms.map((a) => `${a.arm}: ${STEPS.map((s) => `${t(s)} ${a[s]}`).join(", ")}`).join("; ") },
        )
      : h("p", {}, t("notStarted")),
    arms.length
      ? table(
          null,
          [t("arm"), ...STEPS.map((s) => t(s)), t("conversionRate"), t("attributedOrders"), t("attributedRevenue"), t("incrementalLift")],
          arms.map((a) => [
            a.arm,
            ...STEPS.map((s) => int(a[s])),
            percent(a.conversionRate),
            int(a.attributedOrders),
            money(a.attributedRevenue),
            a.incrementalLift === null ? "—" : percent(a.incrementalLift),
          ]),
          { id: "funnel-table" },
        )
      : null,
    h("h3", {}, t("abTest")),
    abTest(c),
  );
}

async function showCampaign(box, id, zone, stale) {
  const data = await gql(CAMPAIGN, { id });
  if (stale()) return;
  const c = data.campaign;
  box.replaceChildren(
    h("h2", {}, c.name),
    h("p", { class: "help" }, `${t("channel")}: ${c.channel} · ${t("started")}: ${c.startedAt ? dateTime(c.startedAt, zone) : t("notStarted")}`),
    campaignReport(c),
  );
}

export async function renderCampaigns(target, context, stale) {
  const data = await gql(CAMPAIGNS);
  if (stale()) return;
  const campaigns = data.campaigns.nodes;
  target.append(h("h1", {}, t("campaigns")));
  if (!campaigns.length) {
    target.append(h("p", {}, t("noCampaigns")));
    return;
  }
  if (!campaigns.some((c) => c.id === chosen)) chosen = (campaigns.find((c) => c.startedAt) || campaigns[0]).id;
  const box = h("section", { class: "campaign panel", id: "campaign", "aria-live": "polite" });
  const select = h(
    "select",
    {
      id: "campaign-choice",
      onchange: async (event) => {
        chosen = event.target.value;
        await showCampaign(box, chosen, context.program.timezone, stale);
      },
    },
    campaigns.map((c) => h("option", { value: c.id, selected: c.id === chosen }, `${c.name}${c.startedAt ? "" : ` (${t("notStarted")})`}`)),
  );
  target.append(
    h("form", { class: "toolbar", onsubmit: (e) => e.preventDefault() }, h("label", { for: "campaign-choice" }, t("campaign")), select),
    box,
  );
  await showCampaign(box, chosen, context.program.timezone, stale);
}
