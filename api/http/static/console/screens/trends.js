// Trends: metricsSeries per day, week, month or quarter as line charts, and the
// period's metricsBreakdown by channel, tier, segment or campaign.
import { gql } from "../api.js";
import { chart } from "../charts.js";
import { h, section, table } from "../dom.js";
import { int, money, percent } from "../format.js";
import { t } from "../i18n.js";
import { period, periodPicker } from "../period.js";

export const SERIES = `query ConsoleSeries($from: DateTime!, $to: DateTime!, $granularity: Granularity!) {
  metricsSeries(from: $from, to: $to, granularity: $granularity) {
    startDate
    metrics { buyers orders revenue { amount currency } repeatPurchaseRate retentionRate churnRate }
  }
}`;

export const BREAKDOWN = `query ConsoleBreakdown($period: PeriodInput!, $by: MetricsDimension!) {
  metricsBreakdown(period: $period, by: $by, first: 20) {
    label customers
    metrics { buyers orders revenue { amount currency } repeatPurchaseRate retentionRate }
  }
}`;

const state = { granularity: "WEEK", by: "CHANNEL" };

function choice(id, label, options, selected, onChange) {
  const select = h(
    "select",
    { id, name: id, onchange: (event) => onChange(event.target.value) },
    options.map((name) => h("option", { value: name, selected: name === selected }, t(name))),
  );
  return [h("label", { for: id }, label), select];
}

function line(label, days, series, { rates = false } = {}) {
  return chart(label, {
    grid: { left: 64, right: 24, top: 40, bottom: 32 },
    legend: { top: 0 },
    xAxis: { type: "category", data: days, boundaryGap: false },
    yAxis: {
      type: "value",
      axisLabel: rates ? { formatter: (v) => `${Math.round(v * 100)}%` } : {},
      max: rates ? 1 : null,
    },
    tooltip: {
      trigger: "axis",
      renderMode: "richText",
      valueFormatter: rates ? (v) => percent(v) : undefined,
    },
    series: series.map(([name, data]) => ({ name, type: "line", data, showSymbol: days.length < 60, connectNulls: false })),
  }, { describe: `${label}: ${series.map(([name]) => name).join(", ")}` });
}

export async function renderTrends(target, context, stale) {
  const zone = context.program.timezone;
  const charts = h("div", { class: "charts" });
  const breakdown = h("div", { class: "breakdown" });
  target.append(
    h("h1", {}, t("trends")),
    periodPicker(zone, () => {
      loadSeries();
      loadBreakdown();
    }),
    section(
      t("trends"),
      h("form", { class: "toolbar", onsubmit: (e) => e.preventDefault() }, ...choice("granularity", t("granularity"), ["DAY", "WEEK", "MONTH", "QUARTER"], state.granularity, (v) => {
        state.granularity = v;
        loadSeries();
      })),
      charts,
    ),
    section(
      t("breakdown"),
      h("form", { class: "toolbar", onsubmit: (e) => e.preventDefault() }, ...choice("by", t("by"), ["CHANNEL", "TIER", "SEGMENT", "CAMPAIGN"], state.by, (v) => {
        state.by = v;
        loadBreakdown();
      })),
      breakdown,
    ),
  );

  async function loadSeries() {
    const { from, to } = period(zone);
    const data = await gql(SERIES, { from, to, granularity: state.granularity });
    if (stale()) return;
    const buckets = data.metricsSeries;
    const days = buckets.map((b) => b.startDate);
    const pick = (f) => buckets.map((b) => f(b.metrics));
    charts.replaceChildren(
      line(t("revenueTrend"), days, [[t("revenue"), pick((m) => Number(m.revenue.amount))]]),
      line(t("buyersOrdersTrend"), days, [
        [t("buyers"), pick((m) => m.buyers)],
        [t("orders"), pick((m) => m.orders)],
      ]),
      line(
        t("ratesTrend"),
        days,
        [
          [t("repeatPurchaseRate"), pick((m) => m.repeatPurchaseRate)],
          [t("retentionRate"), pick((m) => m.retentionRate)],
          [t("churnRate"), pick((m) => m.churnRate)],
        ],
        { rates: true },
      ),
    );
    charts.dataset.buckets = String(buckets.length);
  }

  async function loadBreakdown() {
    const data = await gql(BREAKDOWN, { period: period(zone), by: state.by });
    if (stale()) return;
    const rows = data.metricsBreakdown;
    if (!rows.length) {
      breakdown.replaceChildren(h("p", {}, t("noRows")));
      return;
    }
    breakdown.replaceChildren(
      chart(
        `${t("revenue")} · ${t(state.by)}`,
        {
          grid: { left: 140, right: 24, top: 16, bottom: 32 },
          xAxis: { type: "value" },
          yAxis: { type: "category", data: rows.map((r) => r.label).reverse() },
          tooltip: { trigger: "axis", renderMode: "richText" },
          series: [{ name: t("revenue"), type: "bar", data: rows.map((r) => Number(r.metrics.revenue.amount)).reverse() }],
        },
        { height: Math.min(400, 60 + rows.length * 28) > 200 ? 400 : 200 },
      ),
      table(
        null,
        [t("label"), t("customersCol"), t("buyers"), t("orders"), t("revenue"), t("repeatPurchaseRate"), t("retentionRate")],
        rows.map((r) => [
          r.label,
          int(r.customers),
          int(r.metrics.buyers),
          int(r.metrics.orders),
          money(r.metrics.revenue),
          percent(r.metrics.repeatPurchaseRate),
          percent(r.metrics.retentionRate),
        ]),
        { id: "breakdown-table" },
      ),
    );
  }

  await Promise.all([loadSeries(), loadBreakdown()]);
}
