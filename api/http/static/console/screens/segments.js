// Segments: the saved and built-in segments with their member counts, and a rule
// editor that previews the rule as it is typed (segmentPreview) and underlines the
// spans the parser and type checker point at.
import { gql } from "../api.js";
import { h, section, table } from "../dom.js";
import { int } from "../format.js";
import { t } from "../i18n.js";

export const SEGMENTS = `query ConsoleSegments { segments { id name rule builtIn count } }`;
export const PREVIEW = `query ConsoleSegmentPreview($rule: String!) {
  segmentPreview(rule: $rule, first: 10) {
    count
    customers { id externalId name }
    errors { message line column offset length }
  }
}`;

/** The rule's text with each error span wrapped in <mark>, for the backdrop. */
function marked(rule, errors) {
  const spans = [...errors].sort((a, b) => a.offset - b.offset);
  const parts = [];
  let at = 0;
  for (const e of spans) {
    const start = Math.max(at, Math.min(e.offset, rule.length));
    const end = Math.max(start, Math.min(rule.length, e.offset + Math.max(1, e.length)));
    parts.push(rule.slice(at, start));
    // A span past the end (a rule that stops too early) underlines one blank.
    parts.push(h("mark", { class: "rule-error", dataset: { offset: String(e.offset) } }, rule.slice(start, end) || " "));
    at = end;
  }
  parts.push(rule.slice(at), "\n");
  return parts;
}

export async function renderSegments(target, context, stale) {
  const list = await gql(SEGMENTS);
  if (stale()) return;
  const textarea = h("textarea", {
    id: "rule",
    name: "rule",
    rows: "6",
    spellcheck: "false",
    autocomplete: "off",
    "aria-describedby": "rule-help rule-errors",
  });
  const backdrop = h("div", { class: "backdrop", "aria-hidden": "true" });
  const count = h("p", { class: "preview-count", id: "preview-count", "aria-live": "polite" });
  const errors = h("ul", { class: "errors", id: "rule-errors", "aria-live": "polite" });
  const members = h("ol", { class: "members", id: "preview-members" });
  let timer = null;
  let asked = 0;

  async function preview() {
    const rule = textarea.value;
    const ticket = ++asked;
    if (!rule.trim()) {
      backdrop.replaceChildren(...marked(rule, []));
      count.textContent = "";
      errors.replaceChildren();
      members.replaceChildren();
      return;
    }
    const data = await gql(PREVIEW, { rule });
    if (ticket !== asked || stale()) return;
    const p = data.segmentPreview;
    backdrop.replaceChildren(...marked(rule, p.errors));
    textarea.setAttribute("aria-invalid", p.errors.length ? "true" : "false");
    errors.replaceChildren(
      ...p.errors.map((e) =>
        h(
          "li",
          { dataset: { line: String(e.line), column: String(e.column) } },
          h("strong", {}, t("lineColumn", { line: e.line, column: e.column })),
          " ",
          e.message,
        ),
      ),
    );
    count.textContent = p.count === null ? "" : `${t("previewCount")}: ${int(p.count)}`;
    count.dataset.count = p.count === null ? "" : String(p.count);
    members.replaceChildren(
      ...p.customers.map((c) => h("li", {}, h("a", { href: `#/customer/${encodeURIComponent(c.id)}` }, c.name || c.externalId))),
    );
    textarea.dataset.previewed = rule;
  }

  textarea.addEventListener("input", () => {
    backdrop.replaceChildren(...marked(textarea.value, []));
    clearTimeout(timer);
    timer = setTimeout(preview, 250);
  });
  textarea.addEventListener("scroll", () => {
    backdrop.scrollTop = textarea.scrollTop;
  });

  const rows = list.segments.map((s) => [
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => {
          textarea.value = s.rule;
          textarea.focus();
          preview();
        },
      },
      s.name,
      s.builtIn ? h("span", { class: "badge" }, t("builtIn")) : null,
    ),
    h("code", {}, s.rule),
    int(s.count),
  ]);

  target.append(
    h("h1", {}, t("segments")),
    h(
      "div",
      { class: "two" },
      section(t("segmentList"), table(null, [t("name"), t("rule"), t("count")], rows, { id: "segment-table", class: "compact" })),
      section(
        t("editor"),
        h("label", { for: "rule" }, t("rule")),
        h("p", { class: "help", id: "rule-help" }, t("editorHelp")),
        h("div", { class: "editor" }, backdrop, textarea),
        h("div", { role: "group", "aria-label": t("ruleErrors") }, errors),
        count,
        h("h3", {}, t("firstMembers")),
        members,
      ),
    ),
  );
}
