// One customer: profile, identities, tags, points and their lots, the ledger, tier
// progress, orders, coupons, predicted value and P(alive), the journeys they went
// through, the messages sent to them and their consents. The search finds them by
// external id, e-mail, phone ending or name.
import { gql } from "../api.js";
import { facts, h, section, table } from "../dom.js";
import { dateTime, day, decimal, int, money, percent } from "../format.js";
import { named, t } from "../i18n.js";

export const SEARCH = `query ConsoleCustomerSearch($search: String) {
  customers(first: 20, filter: { search: $search }) {
    totalCount
    nodes { id externalId name email ordersCount totalSpent { amount currency } lastOrderAt }
  }
}`;

export const CUSTOMER = `query ConsoleCustomer($id: ID!) {
  customer(id: $id) {
    id externalId name email phone city birthday gender acquisitionChannel createdAt
    ordersCount totalSpent { amount currency } averageOrderValue { amount currency }
    firstOrderAt lastOrderAt lifecycleStage
    rfm { class rScore fScore mScore }
    identities { type namespace value createdAt }
    tags { name color }
    points {
      available pending debt lifetimeEarned
      lots(first: 20) { totalCount nodes { kind points remaining state availableAt expiresAt createdAt } }
    }
    tierProgress { current { name } next { name threshold } qualifyingValue remainingToNext }
    ledger(first: 20) { totalCount nodes { kind points balanceAfter reason createdAt } }
    orders(first: 20) { totalCount nodes { externalId placedAt channel netAmount { amount currency } pointsEarned counted } }
    coupons(first: 20) { totalCount nodes { code status validUntil template { name } } }
    prediction { pAlive expectedPurchases(days: 365) predictedClv(days: 365) { amount currency } }
    journeyRuns(first: 20) {
      totalCount
      nodes { status reason arm eventType createdAt journey { id name } steps { kind status reason } }
    }
    messages(first: 20) {
      totalCount
      nodes { status reason channel createdAt outcomes { outcome channel reason at } }
    }
    consents { channel granted source at }
  }
}`;

let lastSearch = "";

export async function renderCustomerSearch(target, context, stale) {
  const input = h("input", { id: "search", name: "search", type: "search", value: lastSearch, "aria-describedby": "search-help" });
  const results = h("div", { id: "search-results" });
  async function find() {
    lastSearch = input.value.trim();
    const data = await gql(SEARCH, { search: lastSearch || null });
    if (stale()) return;
    const zone = context.program.timezone;
    results.replaceChildren(
      table(
        null,
        [t("name"), t("externalId"), t("email"), t("ordersCount"), t("totalSpent"), t("when")],
        data.customers.nodes.map((c) => [
          h("a", { href: `#/customer/${encodeURIComponent(c.id)}` }, c.name || c.externalId),
          c.externalId,
          c.email || "—",
          int(c.ordersCount),
          money(c.totalSpent),
          dateTime(c.lastOrderAt, zone),
        ]),
        { id: "customer-table" },
      ),
    );
  }
  target.append(
    h("h1", {}, t("customer")),
    h(
      "form",
      {
        class: "toolbar",
        role: "search",
        onsubmit: (event) => {
          event.preventDefault();
          find();
        },
      },
      h("label", { for: "search" }, t("search")),
      input,
      h("button", { type: "submit" }, t("find")),
      h("span", { class: "help", id: "search-help" }, t("searchHelp")),
    ),
    results,
  );
  await find();
}

function tierProgress(p) {
  const current = p.current ? p.current.name : t("noTier");
  if (!p.next) return h("div", {}, h("p", {}, current), h("p", { class: "help" }, t("topTier")));
  const threshold = Number(p.next.threshold);
  const reached = threshold > 0 ? Math.min(1, Number(p.qualifyingValue) / threshold) : 1;
  return h(
    "div",
    {},
    h("p", {}, `${current} → ${p.next.name}`),
    h("progress", { max: "1", value: String(reached), "aria-label": t("tierProgress") }, percent(reached)),
    h(
      "p",
      { class: "help" },
      `${decimal(p.qualifyingValue)} / ${decimal(threshold)} · `,
      t("toNext", { value: decimal(p.remainingToNext), tier: p.next.name }),
    ),
  );
}

export async function renderCustomer(target, context, id) {
  const zone = context.program.timezone;
  const data = await gql(CUSTOMER, { id });
  const c = data.customer;
  target.append(h("p", {}, h("a", { href: "#/customer" }, `← ${t("back")}`)));
  if (!c) {
    target.append(h("p", { class: "error" }, t("failed")));
    return;
  }
  const pts = c.points;
  target.append(
    h("h1", { id: "customer-name" }, c.name || c.externalId),
    h(
      "div",
      { class: "three" },
      section(
        t("profile"),
        facts([
          [t("externalId"), c.externalId],
          [t("email"), c.email],
          [t("phone"), c.phone],
          [t("city"), c.city],
          [t("birthday"), c.birthday],
          [t("acquisitionChannel"), c.acquisitionChannel],
          [t("createdAt"), dateTime(c.createdAt, zone)],
          [t("lifecycleStage"), t(c.lifecycleStage)],
          [t("rfmClass"), c.rfm ? `${t(c.rfm.class)} (R${c.rfm.rScore} F${c.rfm.fScore} M${c.rfm.mScore})` : t("none")],
          [t("ordersCount"), int(c.ordersCount)],
          [t("totalSpent"), money(c.totalSpent)],
          [t("averageOrderValue"), money(c.averageOrderValue)],
        ]),
      ),
      section(
        t("points"),
        facts([
          [t("available"), int(pts.available)],
          [t("pending"), int(pts.pending)],
          [t("debt"), int(pts.debt)],
          [t("lifetimeEarned"), int(pts.lifetimeEarned)],
        ]),
        h("h3", {}, t("tierProgress")),
        tierProgress(c.tierProgress),
      ),
      section(
        t("prediction"),
        c.prediction
          ? facts([
              [t("pAlive"), h("span", { id: "p-alive", class: "num" }, percent(c.prediction.pAlive))],
              [t("expectedPurchases"), h("span", { id: "expected-purchases", class: "num" }, decimal(c.prediction.expectedPurchases))],
              [t("predictedClv"), h("span", { id: "predicted-clv", class: "num" }, money(c.prediction.predictedClv))],
            ])
          : h("p", {}, t("noPrediction")),
        h("h3", {}, t("tags")),
        c.tags.length ? h("ul", { class: "tags" }, c.tags.map((tag) => h("li", {}, tag.name))) : h("p", {}, t("none")),
        h("h3", {}, t("identities")),
        c.identities.length
          ? table(null, [t("type"), t("value"), t("createdAt")], c.identities.map((i) => [i.namespace ? `${i.type} · ${i.namespace}` : i.type, i.value, day(i.createdAt, zone)]), { class: "compact" })
          : h("p", {}, t("none")),
      ),
    ),
    section(
      `${t("lots")} (${int(pts.lots.totalCount)})`,
      pts.lots.nodes.length
        ? table(
            null,
            [t("createdAt"), t("kind"), t("points"), t("remaining"), t("state"), t("availableAt"), t("expires")],
            pts.lots.nodes.map((l) => [
              dateTime(l.createdAt, zone),
              t(`entry${l.kind}`),
              int(l.points),
              int(l.remaining),
              t(`lot${l.state}`),
              dateTime(l.availableAt, zone),
              l.expiresAt ? day(l.expiresAt, zone) : t("never"),
            ]),
            { class: "compact", id: "lots-table" },
          )
        : h("p", {}, t("none")),
    ),
    section(
      `${t("orders")} (${int(c.orders.totalCount)})`,
      table(
        null,
        [t("externalId"), t("placedAt"), t("channel"), t("netAmount"), t("pointsEarned")],
        c.orders.nodes.map((o) => [o.externalId, dateTime(o.placedAt, zone), o.channel || "—", money(o.netAmount), int(o.pointsEarned)]),
        { id: "orders-table" },
      ),
    ),
    h(
      "div",
      { class: "two" },
      section(
        `${t("ledger")} (${int(c.ledger.totalCount)})`,
        table(
          null,
          [t("when"), t("kind"), t("points"), t("balanceAfter"), t("reason")],
          c.ledger.nodes.map((e) => [dateTime(e.createdAt, zone), named("ledger", e.kind), int(e.points), int(e.balanceAfter), e.reason || "—"]),
          { id: "ledger-table", class: "compact" },
        ),
      ),
      section(
        `${t("coupons")} (${int(c.coupons.totalCount)})`,
        c.coupons.nodes.length
          ? table(null, [t("code"), t("template"), t("status"), t("validUntil")], c.coupons.nodes.map((k) => [k.code, k.template.name, named("coupon", k.status), dateTime(k.validUntil, zone)]), { class: "compact" })
          : h("p", {}, t("none")),
      ),
    ),
    section(
      `${t("journeyRuns")} (${int(c.journeyRuns.totalCount)})`,
      c.journeyRuns.nodes.length
        ? table(
            null,
            [t("when"), t("journey"), t("arm"), t("eventType"), t("status"), t("reason"), t("steps")],
            c.journeyRuns.nodes.map((r) => [
              dateTime(r.createdAt, zone),
              r.journey ? h("a", { href: `#/journeys/${encodeURIComponent(r.journey.id)}` }, r.journey.name) : "—",
              r.arm,
              r.eventType,
              t(`run${r.status}`),
              named("reason", r.reason),
              r.steps.length ? h("ol", { class: "steps" }, r.steps.map((step) => h("li", {}, stepText(step)))) : "—",
            ]),
            { id: "runs-table" },
          )
        : h("p", {}, t("none")),
    ),
    h(
      "div",
      { class: "two wide-right" },
      section(
        t("consents"),
        c.consents.length
          ? table(
              null,
              [t("channel"), t("consent"), t("source"), t("when")],
              c.consents.map((k) => [k.channel, t(k.granted ? "granted" : "withdrawn"), k.source, dateTime(k.at, zone)]),
              { class: "compact", id: "consents-table" },
            )
          : h("p", {}, t("noConsent")),
      ),
      section(
        `${t("messages")} (${int(c.messages.totalCount)})`,
        c.messages.nodes.length
          ? table(
              null,
              [t("when"), t("channel"), t("status"), t("reason"), t("outcomes")],
              c.messages.nodes.map((m) => [
                dateTime(m.createdAt, zone),
                m.channel || "—",
                t(`message${m.status}`),
                named("outcome", m.reason),
                m.outcomes.length ? h("ol", { class: "steps" }, m.outcomes.map((o) => h("li", {}, outcomeText(o, zone)))) : "—",
              ]),
              { class: "compact", id: "messages-table" },
            )
          : h("p", {}, t("none")),
      ),
    ),
  );
}

function stepText(step) {
  const text = `${t(`action${step.kind}`)}: ${t(`step${step.status}`)}`;
  return step.reason ? `${text} (${named("reason", step.reason)})` : text;
}

function outcomeText(o, zone) {
  const parts = [named("outcome", o.outcome), o.channel, o.reason].filter(Boolean).join(" · ");
  return `${parts} — ${dateTime(o.at, zone)}`;
}
