// Drives the dashboard of a running `truce demo` in Debian's Chromium (headless) with
// playwright-core: the map renders zones, incidents and the simulated patrol's track; selecting an incident shows its rays
// and ellipse; an officer of one monitor confirms, the other's disputes, and both reasons and
// the status show; the page switches to Russian; the demo's first-look link signs in as the
// auditor and today's report opens; and nothing breaks the page's Content Security Policy.
// Exit 0 when all of it holds.
// Usage: node tests/dashboard.mjs URL TOKENS_FILE [SCREENSHOT_DIR]
import { chromium } from "playwright-core";
import { waitUntil } from "./wait.mjs";
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const [url, tokensFile, shots] = process.argv.slice(2);
const tokens = Object.fromEntries(
  readFileSync(tokensFile, "utf8").split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.trim().split(/\s+/)),
);
if (shots) mkdirSync(shots, { recursive: true });
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Every Content Security Policy violation, on the dashboard and on the report it opens
  // (a blob: page, which inherits the dashboard's policy): the console's and the DOM's.
  const violations = [];
  const watch = (p) => p.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  context.on("page", watch);
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  const served = await page.goto(url);
  const csp = served.headers()["content-security-policy"] ?? "";
  if (!csp.includes("script-src 'self'")) fail(`the page has no strict Content Security Policy: ${csp}`);

  async function signIn(user) {
    await page.fill("#token", tokens[user]);
    await page.click("#signin");
    await waitUntil(page, (u) => window.__truce?.state.me?.user === u && window.__truce.state.ready, user, { timeout: 15000 });
  }

  await signIn("m1-officer");
  // The map renders the agreement's zones and the incidents.
  await waitUntil(page, () => {
    const { map, state } = window.__truce;
    if (state.incidents.size === 0) return false;
    return map.queryRenderedFeatures({ layers: ["zone-edges"] }).length > 0
      && map.queryRenderedFeatures({ layers: ["incidents"] }).length > 0;
  }, null, { timeout: 30000 }).catch(() => fail("the map shows no zones or no incidents"));

  // The simulated patrol's position, sent over the demo's CoT listener, is on the map.
  await waitUntil(page, async () => {
    await window.__truce.loadTracks();
    return window.__truce.map.queryRenderedFeatures({ layers: ["track-heads"] }).length > 0;
  }, null, { timeout: 30000, polling: 1000 }).catch(() => fail("the patrol's track is not on the map"));

  // Coverage: the hearing range of the places the monitors reported from is shaded, and the
  // footer gives each area's covered share.
  await waitUntil(page, () => window.__truce.map.queryRenderedFeatures({ layers: ["coverage"] }).length > 0,
    null, { timeout: 30000, polling: 1000 }).catch(() => fail("no coverage on the map"));
  const coverageLine = await page.textContent("#coverage-line");
  if (!/\d+% \/ \d+%/.test(coverageLine ?? "")) fail(`the footer gives no area's coverage: ${coverageLine}`);

  // Select an incident fixed by several reports: its rays and ellipse show.
  const id = await page.evaluate(() => {
    const all = [...window.__truce.state.incidents.values()];
    const best = all.filter((i) => i.position && i.ellipse_95 && (i.method ?? "").includes("bearings") && i.status !== "merged")
      .sort((a, b) => b.observation_ids.length - a.observation_ids.length)[0];
    return best?.id;
  });
  if (!id) fail("no incident located from bearings to select");
  await page.evaluate((i) => { window.__truce.state.selectedFromTest = i; }, id);
  await page.evaluate(async (i) => {
    const li = document.querySelector(`#feed-list li[data-id="${i}"]`);
    if (li) li.click();
  }, id);
  await page.waitForSelector(`#incident h3:has-text("#${id}")`, { timeout: 10000 }).catch(async () => {
    // The incident may be outside the feed's first 60: select it directly.
    await page.evaluate(async (i) => { await window.__truce.select?.(i); }, id);
  });
  await waitUntil(page, (i) => window.__truce.state.selected === i, id, { timeout: 10000 }).catch(() => fail("selecting did not work"));
  const rays = await page.evaluate(() => window.__truce.selectedRays ?? 0);
  const ellipses = await page.evaluate(() => window.__truce.map.queryRenderedFeatures({ layers: ["ellipse-line"] }).length);
  if (ellipses === 0) fail("no 95% ellipse on the map");
  if (rays === 0) fail("the selected incident's rays are not drawn");
  const drawn = await page.evaluate(() => window.__truce.map.queryRenderedFeatures({ layers: ["rays"] }).length);
  if (drawn === 0) fail("the rays are not rendered");
  console.log(`incident ${id}: ${rays} rays, ${ellipses} ellipses rendered`);
  if (shots) await page.screenshot({ path: join(shots, "dashboard-map.png") });

  // Monitor 1 confirms.
  await page.fill("#reason", "our post heard it");
  await page.click('button[data-verdict="confirm"]');
  await page.waitForSelector('#assessments:has-text("our post heard it")', { timeout: 10000 }).catch(async () => fail(`monitor 1's verdict is not shown (${await page.textContent("#status-line")})`));

  // The officer issues today's report: its hash goes on the record.
  if (await page.isHidden("#issue-report")) fail("an officer is not offered to issue the report");
  await page.click("#issue-report");
  await page.waitForSelector('#status-line:has-text("Issued on the record as entry")', { timeout: 15000 })
    .catch(async () => fail(`issuing the report failed: ${await page.textContent("#status-line")}`));

  // Monitor 2 disputes.
  await page.click("#signout");
  await page.waitForLoadState("load");
  await signIn("m2-officer");
  await page.evaluate(async (i) => { await window.__truce.select(i); }, id);
  await page.waitForSelector("#reason");
  await page.fill("#reason", "our patrol saw nothing there");
  await page.click('button[data-verdict="dispute"]');
  await page.waitForSelector('#assessments:has-text("our patrol saw nothing there")', { timeout: 10000 }).catch(async () => fail(`monitor 2's verdict is not shown (${await page.textContent("#status-line")})`));
  const status = await page.textContent("#incident-status");
  if (status?.trim() !== "disputed") fail(`status is ${status}, not disputed`);
  const both = await page.textContent("#assessments");
  if (!both.includes("our post heard it")) fail("monitor 1's reason is gone");
  if (shots) await page.screenshot({ path: join(shots, "dashboard-disputed.png") });

  // Russian.
  await page.click("#lang");
  await page.waitForSelector('#incident-status:has-text("оспорен")', { timeout: 5000 }).catch(() => fail("the status is not translated"));
  const ledgerTitle = await page.textContent("#ledger h3");
  if (ledgerTitle?.trim() !== "Общий журнал") fail(`ledger panel says ${ledgerTitle}`);
  if (shots) await page.screenshot({ path: join(shots, "dashboard-ru.png") });

  // First look: the demo's link signs in as m1's auditor from the fragment, and the token
  // leaves the address bar; today's report opens in a new tab, in the page's language.
  await page.click("#signout");
  await page.waitForLoadState("load");
  await page.evaluate(() => localStorage.removeItem("truce.token"));
  // A fresh load, as a link opened from the terminal is (a fragment change alone is not one).
  await page.goto("about:blank");
  await page.goto(`${url}#token=${tokens["m1-auditor"]}`);
  await waitUntil(page, () => window.__truce?.state.me?.user === "m1-auditor" && window.__truce.state.ready, null, { timeout: 15000 })
    .catch(() => fail("the first-look link did not sign in as the auditor"));
  if (await page.evaluate(() => location.hash) !== "") fail("the token stayed in the address bar");
  if (!(await page.isHidden("#issue-report"))) fail("an auditor is offered to issue the report");
  const [report] = await Promise.all([page.waitForEvent("popup"), page.click("#report")]);
  await report.waitForSelector("h1", { timeout: 15000 }).catch(() => fail("the report did not open"));
  const heading = await report.textContent("h1");
  if (!heading.includes("Ежедневный отчёт")) fail(`the report says ${heading}`);
  const annexRows = await report.evaluate(() => document.querySelectorAll("table.annex tbody tr").length);
  if (annexRows === 0) fail("the report's annex is empty");
  if (shots) await report.screenshot({ path: join(shots, "report-ru.png"), fullPage: false });
  console.log(`first look ok: report with ${annexRows} annex rows`);
  if (violations.length > 0) fail(`Content Security Policy violations:\n${violations.join("\n")}`);
  console.log("no Content Security Policy violations");
  console.log("dashboard ok");
} finally {
  await browser.close();
}
