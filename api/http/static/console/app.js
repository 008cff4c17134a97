// The console's shell: sign-in, the language toggle, the navigation and a hash
// router (#/overview, #/trends, #/customers, #/segments, #/campaigns, #/journeys/<id>,
// #/customer/<id>).
import { ApiError, forgetKey, gql, keepKey, savedKey } from "./api.js";
import { disposeCharts } from "./charts.js";
import { h } from "./dom.js";
import { lang, setLang, t } from "./i18n.js";
import { renderCampaigns } from "./screens/campaigns.js";
import { renderCustomer, renderCustomerSearch } from "./screens/customer.js";
import { renderCustomers } from "./screens/customers.js";
import { renderJourneys } from "./screens/journeys.js";
import { renderOverview } from "./screens/overview.js";
import { renderSegments } from "./screens/segments.js";
import { renderTrends } from "./screens/trends.js";

const SCREENS = {
  overview: renderOverview,
  trends: renderTrends,
  customers: renderCustomers,
  segments: renderSegments,
  campaigns: renderCampaigns,
  journeys: renderJourneys,
  customer: renderCustomerSearch,
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOut = document.getElementById("signout");
const langButton = document.getElementById("lang");
const context = { program: null };

const PROGRAM = `query ConsoleProgram { program { timezone currency pointValue } lifecycleSummary { total } }`;

async function signedIn() {
  if (!savedKey()) return false;
  if (context.program && context.key === savedKey()) return true;
  try {
    const data = await gql(PROGRAM);
    context.program = data.program;
    context.key = savedKey();
    return true;
  } catch (error) {
    forgetKey();
    context.signInError = error instanceof ApiError && error.code === "FORBIDDEN" ? t("noMetrics") : t("badKey");
    return false;
  }
}

function signInForm() {
  const input = h("input", { id: "key", name: "key", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const error = h("p", { class: "error", role: "alert", id: "signin-error" }, context.signInError || "");
  const form = h(
    "form",
    {
      class: "signin panel",
      onsubmit: async (event) => {
        event.preventDefault();
        keepKey(input.value.trim());
        context.signInError = "";
        await route();
      },
    },
    h("h1", {}, t("signInTitle")),
    h("p", { class: "help" }, t("signInHelp")),
    h("label", { for: "key" }, t("apiKey")),
    input,
    error,
    h("button", { type: "submit" }, t("signIn")),
  );
  return { form, input };
}

function renderNav(active) {
  nav.replaceChildren(
    h(
      "ul",
      {},
      Object.keys(SCREENS).map((name) =>
        h(
          "li",
          {},
          h("a", { href: `#/${name}`, "aria-current": name === active ? "page" : null }, t(name)),
        ),
      ),
    ),
  );
}

function shell() {
  document.title = `Loyalty Graph · ${t("title")}`;
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  document.querySelector(".skip").textContent = t("skip");
  langButton.textContent = t("language");
  langButton.setAttribute("aria-label", t("languageName"));
  signOut.textContent = t("signOut");
  nav.setAttribute("aria-label", t("screens"));
}

let rendering = 0;

async function route() {
  shell();
  disposeCharts();
  const ticket = ++rendering;
  if (!(await signedIn())) {
    nav.hidden = true;
    signOut.hidden = true;
    document.getElementById("program").textContent = "";
    const { form, input } = signInForm();
    main.replaceChildren(form);
    input.focus();
    return;
  }
  nav.hidden = false;
  signOut.hidden = false;
  const { timezone, currency } = context.program;
  document.getElementById("program").textContent = `${t("timezone")}: ${timezone} · ${currency}`;
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "overview").split("/");
  const screen = SCREENS[name] ? name : "overview";
  renderNav(screen);
  document.title = `${t(screen)} · Loyalty Graph ${t("title")}`;
  const target = h("div", { class: "screen", dataset: { screen } });
  main.replaceChildren(target);
  main.setAttribute("aria-busy", "true");
  try {
    if (screen === "customer" && rest.length) await renderCustomer(target, context, decodeURIComponent(rest.join("/")));
    else await SCREENS[screen](target, context, () => ticket !== rendering, rest);
  } catch (error) {
    if (ticket === rendering) target.append(h("p", { class: "error", role: "alert" }, `${t("failed")}: ${error.message}`));
  } finally {
    if (ticket === rendering) {
      main.setAttribute("aria-busy", "false");
      main.dataset.ready = screen;
    }
  }
}

langButton.addEventListener("click", () => {
  setLang(lang() === "zh" ? "en" : "zh");
  route();
});
signOut.addEventListener("click", () => {
  forgetKey();
  context.program = null;
  location.hash = "#/overview";
  route();
});
// A request started by a control (a period, a rule being typed) that fails is shown
// here, above the screen, instead of being lost in the browser's console.
const alert = document.getElementById("alert");
window.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  alert.textContent = `${t("failed")}: ${event.reason && event.reason.message ? event.reason.message : event.reason}`;
  alert.hidden = false;
});

window.addEventListener("hashchange", () => {
  alert.hidden = true;
  delete main.dataset.ready;
  route().then(() => main.focus({ preventScroll: true }));
});

route();
