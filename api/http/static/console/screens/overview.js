// Overview: the period's headline metrics, each with its change against the
// previous period of equal length (环比) and against the same period a year ago (同比).
import { gql } from "../api.js";
import { chart } from "../charts.js";
import { h, section } from "../dom.js";
import { change, direction, int, money, percent } from "../format.js";
import { t } from "../i18n.js";
import { period, periodPicker } from "../period.js";

const VALUES = `buyers orders revenue { amount currency } repeatPurchaseRate retentionRate churnRate
  customerLifetimeValue { amount currency } nps npsResponses pointsLiability
  pointsLiabilityValue { amount currency } averageOrderValue { amount currency } newCustomers`;
const CHANGES = `buyers { absolute relative } orders { absolute relative } revenue { absolute relative }
  repeatPurchaseRate { absolute relative } retentionRate { absolute relative } churnRate { absolute relative }
  customerLifetimeValue { absolute relative } nps { absolute relative } pointsLiability { absolute relative }`;

export const OVERVIEW = `query ConsoleOverview($period: PeriodInput!, $from: DateTime!, $to: DateTime!, $granularity: Granularity!) {
  mom: metrics(period: $period, compare: PREVIOUS_PERIOD) { current { ${VALUES} } change { ${CHANGES} } }
  yoy: metrics(period: $period, compare: YEAR_AGO) { change { ${CHANGES} } }
  metricsSeries(from: $from, to: $to, granularity: $granularity) {
    startDate metrics { revenue { amount } buyers repeatPurchaseRate }
  }
}`;

/** Days for a short period, weeks for a quarter, months beyond. */
function granularityOf({ from, to }) {
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  return days <= 31 ? "DAY" : days <= 120 ? "WEEK" : "MONTH";
}

// [metric, how its value reads, whether its change is in percentage points]
const CARDS = [
  ["buyers", (m) => int(m.buyers), false],
  ["orders", (m) => int(m.orders), false],
  ["revenue", (m) => money(m.revenue), false],
  ["repeatPurchaseRate", (m) => percent(m.repeatPurchaseRate), true],
  ["retentionRate", (m) => percent(m.retentionRate), true],
  ["churnRate", (m) => percent(m.churnRate), true],
  ["customerLifetimeValue", (m) => money(m.customerLifetimeValue), false],
  ["nps", (m) => (m.nps === null ? "—" : m.nps.toFixed(1)), true],
  ["pointsLiability", (m) => int(m.pointsLiability), false],
];

function note(name, m) {
  if (name === "pointsLiability") return `${t("pointsLiabilityValue")} ${money(m.pointsLiabilityValue)}`;
  if (name === "nps") return `${int(m.npsResponses)} ${t("npsResponses")}`;
  if (name === "revenue") return `${t("averageOrderValue")} ${money(m.averageOrderValue)}`;
  if (name === "buyers") return `${t("newCustomers")} ${int(m.newCustomers)}`;
  return "";
}

// Churn should fall; a growing points liability is neither good nor bad news.
const BETTER = { churnRate: "down", pointsLiability: null };

function delta(label, title, value, asPoints, better) {
  // NPS is a score, not a rate: its change is in score points ("score").
  return h(
    "span",
    { class: `delta ${direction(value, asPoints, better)}`, title },
    h("span", { class: "k" }, label),
    " ",
    h("span", { class: "v" }, change(value, asPoints)),
  );
}

export async function renderOverview(target, context, stale) {
  const zone = context.program.timezone;
  const cards = h("div", { class: "cards", id: "cards" }, h("p", {}, t("loading")));
  const trend = h("div", { class: "trend" });
  target.append(h("h1", {}, t("overview")), periodPicker(zone, () => load()), cards, trend);

  async function load() {
    cards.setAttribute("aria-busy", "true");
    const asked = period(zone);
    const granularity = granularityOf(asked);
    const data = await gql(OVERVIEW, { period: asked, ...asked, granularity });
    if (stale()) return;
    const m = data.mom.current;
    cards.replaceChildren(
      ...CARDS.map(([name, show, asPoints]) => {
        const inPoints = name === "nps" ? "score" : asPoints;
        const better = name in BETTER ? BETTER[name] : "up";
        return h(
          "article",
          { class: "card", dataset: { metric: name }, "aria-labelledby": `card-${name}` },
          h("h2", { id: `card-${name}` }, t(name)),
          h("p", { class: "value" }, show(m)),
          h("p", { class: "note" }, note(name, m)),
          h(
            "p",
            { class: "deltas" },
            delta(t("momShort"), t("mom"), data.mom.change[name], inPoints, better),
            delta(t("yoyShort"), t("yoy"), data.yoy.change[name], inPoints, better),
          ),
        );
      }),
    );
    const buckets = data.metricsSeries;
    trend.replaceChildren(
      section(
        `${t("revenue")} · ${t("buyers")} (${t(granularity)})`,
        chart(
          `${t("revenue")} · ${t("buyers")}`,
          {
            grid: { left: 72, right: 56, top: 36, bottom: 28 },
            legend: { top: 0 },
            xAxis: { type: "category", data: buckets.map((b) => b.startDate) },
            yAxis: [{ type: "value" }, { type: "value", minInterval: 1, splitLine: { show: false } }],
            series: [
              { name: t("revenue"), type: "bar", data: buckets.map((b) => Number(b.metrics.revenue.amount)) },
              { name: t("buyers"), type: "line", yAxisIndex: 1, data: buckets.map((b) => b.metrics.buyers) },
            ],
          },
          { height: 200, caption: false },
        ),
      ),
    );
    cards.setAttribute("aria-busy", "false");
    // The period asked, so a reader (or a test) can ask the API the same question.
    cards.dataset.from = asked.from;
    cards.dataset.to = asked.to;
  }
  await load();
}
