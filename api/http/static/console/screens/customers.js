// Customers: how many are in each lifecycle stage, the eight RFM classes as a grid
// (rows: monetary high or low; columns: recent and frequent or not), and the monthly
// cohort retention heat map.
import { gql } from "../api.js";
import { chart } from "../charts.js";
import { h, section, table } from "../dom.js";
import { addMonths, int, midnight, money, percent, today } from "../format.js";
import { t } from "../i18n.js";

export const CUSTOMERS = `query ConsoleCustomers($from: DateTime!, $to: DateTime!) {
  lifecycleSummary { total stages { stage count } }
  rfmSummary {
    populationSize
    classes { class count revenue { amount currency } meanRecency meanFrequency }
  }
  cohorts(from: $from, to: $to) { month size customers retention }
}`;

const COLUMNS = [
  ["VALUE", "colValue"],
  ["DEVELOP", "colDevelop"],
  ["RETAIN", "colRetain"],
  ["WINBACK", "colWinback"],
];
const ROWS = [
  ["IMPORTANT", "highValue"],
  ["GENERAL", "lowValue"],
];

function rfmGrid(summary) {
  const byClass = Object.fromEntries(summary.classes.map((c) => [c.class, c]));
  const largest = Math.max(1, ...summary.classes.map((c) => c.count));
  const header = h("tr", {}, h("td", {}), COLUMNS.map(([, label]) => h("th", { scope: "col" }, t(label))));
  const rows = ROWS.map(([row, label]) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, t(label)),
      COLUMNS.map(([column]) => {
        const name = `${row}_${column}`;
        const c = byClass[name];
        const level = Math.min(4, Math.ceil((c.count / largest) * 4));
        const share = summary.populationSize ? c.count / summary.populationSize : null;
        return h(
          "td",
          { class: `rfm-cell level${level}`, dataset: { class: name } },
          h("span", { class: "rfm-name" }, t(name)),
          h("span", { class: "rfm-count" }, int(c.count)),
          h("span", { class: "rfm-revenue" }, money(c.revenue)),
          h("span", { class: "rfm-share" }, `${t("share")} ${percent(share)}`),
        );
      }),
    ),
  );
  return h(
    "div",
    {},
    h("p", { class: "help" }, `${t("rfmHelp")} N = ${int(summary.populationSize)} ${t("population")}.`),
    h("table", { class: "rfm", id: "rfm-grid" }, h("caption", { class: "sr-only" }, t("rfm")), h("thead", {}, header), h("tbody", {}, rows)),
  );
}

function heatMap(cohorts) {
  const months = cohorts.map((c) => c.month.slice(0, 7));
  const width = Math.max(1, ...cohorts.map((c) => c.retention.length));
  const cells = [];
  cohorts.forEach((c, row) =>
    c.retention.forEach((value, k) => {
      if (value !== null && c.size > 0) cells.push([k, row, Math.round(value * 1000) / 10]);
    }),
  );
  const figure = chart(
    t("cohorts"),
    {
      grid: { left: 90, right: 24, top: 16, bottom: 80 },
      tooltip: {
        trigger: "item",
        renderMode: "richText",
        formatter: (p) => `${months[p.value[1]]} +${p.value[0]}: ${p.value[2]}%`,
      },
      xAxis: { type: "category", name: t("monthOffset"), nameLocation: "middle", nameGap: 28, data: [...Array(width).keys()].map(String), splitArea: { show: true } },
      yAxis: { type: "category", data: months, inverse: true, splitArea: { show: true } },
      visualMap: {
        min: 0,
        max: 100,
        calculable: false,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        inRange: { color: ["#f1f5fb", "#9ec1e6", "#1f5fa8"] },
        formatter: (v) => `${Math.round(v)}%`,
      },
      series: [{ type: "heatmap", data: cells, label: { show: true, formatter: (p) => `${p.value[2]}%`, fontSize: 10 } }],
    },
    { height: 400, describe: `${t("cohorts")}: ${months.length} ${t("cohortMonth")}`, caption: false },
  );
  const rows = cohorts.map((c) => [c.month.slice(0, 7), int(c.size), ...c.retention.map((r) => percent(r))]);
  const data = h(
    "details",
    {},
    h("summary", {}, t("dataTable")),
    table(null, [t("cohortMonth"), t("size"), ...[...Array(width).keys()].map((k) => `+${k}`)], rows, { id: "cohort-table" }),
  );
  return [figure, data];
}

export async function renderCustomers(target, context, stale) {
  const zone = context.program.timezone;
  const now = today(zone);
  const month = [now[0], now[1], 1];
  const months = {
    from: midnight(addMonths(month, -11), zone),
    to: midnight(addMonths(month, 1), zone),
  };
  const data = await gql(CUSTOMERS, months);
  if (stale()) return;
  const stages = data.lifecycleSummary.stages;
  target.append(
    h("h1", {}, t("customers")),
    h(
      "div",
      { class: "two wide-right" },
      section(
        t("lifecycle"),
        chart(
          t("lifecycle"),
          {
            grid: { left: 48, right: 16, top: 16, bottom: 32 },
            xAxis: { type: "category", data: stages.map((s) => t(s.stage)) },
            yAxis: { type: "value", minInterval: 1 },
            tooltip: { trigger: "axis", renderMode: "richText" },
            series: [{ type: "bar", name: t("customersCol"), data: stages.map((s) => s.count), label: { show: true, position: "top" } }],
          },
          { describe: stages.map((s) => `${t(s.stage)} ${s.count}`).join(", "), caption: false },
        ),
        table(null, [t("lifecycleStage"), t("count")], stages.map((s) => [t(s.stage), int(s.count)]), { id: "lifecycle-table", class: "compact" }),
      ),
      section(t("rfm"), rfmGrid(data.rfmSummary)),
    ),
    h("div", { id: "cohorts", dataset: months }, section(t("cohorts"), ...heatMap(data.cohorts))),
  );
}
