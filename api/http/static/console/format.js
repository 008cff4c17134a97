// Numbers, money, rates and dates as a marketer reads them, in the chosen language,
// and calendar periods cut in the program's time zone (what the API's buckets use).
import { locale, t } from "./i18n.js";

export function int(value) {
  return value === null || value === undefined ? "—" : new Intl.NumberFormat(locale()).format(value);
}

export function money(m) {
  if (!m) return "—";
  return new Intl.NumberFormat(locale(), {
    style: "currency",
    currency: m.currency,
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  }).format(Number(m.amount));
}

export function percent(rate, digits = 1) {
  if (rate === null || rate === undefined) return "—";
  return `${(Number(rate) * 100).toFixed(digits)}%`;
}

export function decimal(value, digits = 2) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(Number(value));
}

/** A change as shown under a card: relative for counts and money, points for rates. */
export function change(delta, asPoints) {
  if (!delta) return t("noChange");
  if (asPoints === "score") {
    if (delta.absolute === null || delta.absolute === undefined) return t("noChange");
    const points = Number(delta.absolute);
    return `${points >= 0 ? "+" : ""}${points.toFixed(1)}`;
  }
  if (asPoints) {
    if (delta.absolute === null || delta.absolute === undefined) return t("noChange");
    const pp = Number(delta.absolute) * 100;
    return `${pp >= 0 ? "+" : ""}${pp.toFixed(1)} pp`;
  }
  if (delta.relative === null || delta.relative === undefined) return t("noChange");
  const pct = delta.relative * 100;
  return `${pct >= 0 ? "+" : ""}${pct.toFixed(1)}%`;
}

/** "good", "bad" or "flat": whether a change is welcome (`better` is "up", "down"
 * for a figure such as churn that should fall, or null for one that is neither). */
export function direction(delta, asPoints, better = "up") {
  const value = delta ? (asPoints ? delta.absolute : delta.relative) : null;
  if (!better || value === null || value === undefined || Number(value) === 0) return "flat";
  return (Number(value) > 0) === (better === "up") ? "good" : "bad";
}

export function dateTime(iso, zone) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale(), {
    timeZone: zone,
    dateStyle: "medium",
    timeStyle: "short",
  }).format(new Date(iso));
}

export function day(iso, zone) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, dateStyle: "medium" }).format(new Date(iso));
}

// --- local calendar days in a time zone -------------------------------------------

/** Today's local date in `zone` as [year, month (1-12), day]. */
export function today(zone) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(new Date());
  return parts.split("-").map(Number);
}

function offsetMs(instant, zone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The instant local midnight of [y, m, d] starts in `zone`, as ISO 8601 (UTC). */
export function midnight([y, m, d], zone) {
  const guess = Date.UTC(y, m - 1, d);
  let instant = guess - offsetMs(guess, zone);
  instant = guess - offsetMs(instant, zone);
  return new Date(instant).toISOString();
}

export function addDays([y, m, d], n) {
  const date = new Date(Date.UTC(y, m - 1, d + n));
  return [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
}

export function addMonths([y, m], n) {
  const date = new Date(Date.UTC(y, m - 1 + n, 1));
  return [date.getUTCFullYear(), date.getUTCMonth() + 1, 1];
}

export function isoDay([y, m, d]) {
  return `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

export function parseDay(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
  return match ? [+match[1], +match[2], +match[3]] : null;
}

export const PRESETS = ["last30", "last90", "thisMonth", "lastMonth", "thisQuarter", "thisYear", "last12m"];

/** A preset's local days: [first day, first day after] in `zone`. */
export function presetDays(name, zone) {
  const now = today(zone);
  const tomorrow = addDays(now, 1);
  const month = [now[0], now[1], 1];
  switch (name) {
    case "last30":
      return [addDays(now, -29), tomorrow];
    case "last90":
      return [addDays(now, -89), tomorrow];
    case "thisMonth":
      return [month, addMonths(month, 1)];
    case "lastMonth":
      return [addMonths(month, -1), month];
    case "thisQuarter": {
      const first = [now[0], now[1] - ((now[1] - 1) % 3), 1];
      return [first, addMonths(first, 3)];
    }
    case "thisYear":
      return [[now[0], 1, 1], [now[0] + 1, 1, 1]];
    case "last12m":
      return [addMonths(month, -11), addMonths(month, 1)];
    default:
      return [addDays(now, -89), tomorrow];
  }
}
