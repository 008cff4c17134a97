// The period picker: presets and custom local days, cut in the program's time zone.
// The choice is shared by the Overview and Trends screens for the tab's session.
import { h } from "./dom.js";
import { PRESETS, addDays, isoDay, midnight, parseDay, presetDays } from "./format.js";
import { t } from "./i18n.js";

const STORE = "loyalty.console.period";
const state = JSON.parse(sessionStorage.getItem(STORE) || "null") || { preset: "last90" };

/** The chosen period as local days [first, first after] in `zone`. */
export function periodDays(zone) {
  if (state.preset === "custom") {
    const first = parseDay(state.from);
    const last = parseDay(state.to);
    if (first && last && isoDay(first) <= isoDay(last)) return [first, addDays(last, 1)];
  }
  return presetDays(state.preset, zone);
}

/** The chosen period as the API's PeriodInput (instants, `to` excluded). */
export function period(zone) {
  const [first, after] = periodDays(zone);
  return { from: midnight(first, zone), to: midnight(after, zone) };
}

export function periodPicker(zone, onChange) {
  const [first, after] = periodDays(zone);
  const select = h(
    "select",
    { id: "preset", name: "preset" },
    [...PRESETS, "custom"].map((name) => h("option", { value: name, selected: name === state.preset }, t(name))),
  );
  const from = h("input", { id: "from", name: "from", type: "date", value: isoDay(first) });
  const to = h("input", { id: "to", name: "to", type: "date", value: isoDay(addDays(after, -1)) });
  const custom = h("span", { class: "custom" }, h("label", { for: "from" }, t("from")), from, h("label", { for: "to" }, t("to")), to);
  custom.hidden = state.preset !== "custom";
  const save = () => sessionStorage.setItem(STORE, JSON.stringify(state));
  select.addEventListener("change", () => {
    state.preset = select.value;
    custom.hidden = state.preset !== "custom";
    if (state.preset === "custom") {
      state.from = from.value;
      state.to = to.value;
    } else {
      // The custom fields start from the last preset chosen.
      const [first, after] = periodDays(zone);
      from.value = isoDay(first);
      to.value = isoDay(addDays(after, -1));
    }
    save();
    onChange();
  });
  for (const input of [from, to]) {
    input.addEventListener("change", () => {
      state.from = from.value;
      state.to = to.value;
      save();
      onChange();
    });
  }
  return h(
    "form",
    { class: "toolbar", "aria-label": t("period"), onsubmit: (event) => event.preventDefault() },
    h("label", { for: "preset" }, t("period")),
    select,
    custom,
    h("span", { class: "zone" }, `${t("timezone")}: ${zone}`),
  );
}
