// ECharts (the vendored echarts.min.js, a classic script that defines window.echarts)
// drawn on canvas. Tooltips are rendered as canvas text ("richText"), not as HTML with
// style attributes, so the page's policy can forbid inline styles.
import { h } from "./dom.js";

const live = new Set();
export const PALETTE = ["#1f5fa8", "#c2410c", "#15803d", "#7c3aed", "#b45309", "#0e7490", "#be185d", "#4b5563"];

/** A chart in a figure, its caption shown unless the section's heading says it
 * already; `describe` is what a screen reader reads for it. */
export function chart(label, option, { height = 280, describe = label, caption = true } = {}) {
  const box = h("div", { class: "chart", role: "img", "aria-label": describe });
  box.classList.add(`h${height}`);
  const title = h("figcaption", { class: caption ? null : "sr-only" }, label);
  const figure = h("figure", { class: "figure" }, title, box);
  requestAnimationFrame(() => {
    if (!box.isConnected || !window.echarts) return;
    const instance = window.echarts.init(box, null, { renderer: "canvas" });
    instance.setOption({
      color: PALETTE,
      animation: false,
      textStyle: { fontFamily: "system-ui, sans-serif" },
      tooltip: { trigger: "axis", renderMode: "richText" },
      ...option,
    });
    live.add(instance);
  });
  return figure;
}

/** Frees the charts of the screen being left. */
export function disposeCharts() {
  for (const instance of live) instance.dispose();
  live.clear();
}

window.addEventListener("resize", () => {
  for (const instance of live) instance.resize();
});
