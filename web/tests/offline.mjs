// The observer's report form without a network, in Debian's Chromium (playwright-core): an
// observer signs in; the center goes away; the report made then waits in the browser; the page
// reloads with no center (the service worker serves it); the center returns and the report is
// recorded once, and sending it again returns the same observation. The center is stopped and
// started by the caller: this script prints "stop the center" or "start the center" and waits
// for a line on stdin before it goes on. Prints "offline ok" and the observation's id at the end.
// Usage: node tests/offline.mjs URL TOKENS_FILE
import { chromium } from "playwright-core";
import { waitUntil } from "./wait.mjs";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

const [url, tokensFile] = process.argv.slice(2);
const tokens = Object.fromEntries(
  readFileSync(tokensFile, "utf8").split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.trim().split(/\s+/)),
);
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(what) { console.log(what); await lines.next(); }

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(url);
  await page.fill("#token", tokens["m1-observer"]);
  await page.click("#signin");
  await waitUntil(page, () => window.__truce?.state.ready && window.__truce.state.me?.role === "observer", null, { timeout: 20000 })
    .catch(() => fail("the observer is not signed in"));
  // The service worker holds the page before the network goes.
  await waitUntil(page, () => navigator.serviceWorker?.controller !== null, null, { timeout: 15000 })
    .catch(() => fail("no service worker controls the page"));

  await ask("stop the center");
  // A place, as a click on the map gives one.
  await page.evaluate(() => { window.__truce.state.clickedAt = { lat: 40.05, lon: 46.65 }; });
  await page.selectOption("#r-kind", "explosion");
  await page.click("#r-send");
  await waitUntil(page, () => document.getElementById("outbox-pending")?.textContent === "1", null, { timeout: 10000 })
    .catch(async () => fail(`the report is not waiting (${await page.textContent("#status-line")})`));

  // With no center, the page opens from the service worker and the report still waits.
  await page.reload();
  await waitUntil(page, () => window.__truce?.state.ready && window.__truce.state.me?.user === "m1-observer", null, { timeout: 20000 })
    .catch(() => fail("the page does not open without the center"));
  await waitUntil(page, () => document.getElementById("outbox-pending")?.textContent === "1", null, { timeout: 10000 })
    .catch(() => fail("the waiting report is gone after the reload"));

  await ask("start the center");
  await waitUntil(page, () => document.getElementById("outbox-pending")?.textContent === "0"
      && document.querySelector("#outbox-answered li")?.textContent?.includes("#"), null, { timeout: 30000 })
    .catch(async () => fail(`the report was not sent when the center returned (${await page.textContent("#outbox")})`));
  const answered = await page.evaluate(() => window.__truce.outbox.answered()[0]);
  if (answered.id === undefined) fail(`the report was refused: ${answered.error}`);
  // The same report again (a resend after a lost answer) returns the same observation.
  const again = await page.evaluate(async (clientId) => {
    const token = window.__truce.state.token;
    const mine = await (await fetch(`/api/observations/${(window.__truce.outbox.answered()[0]).id}`, { headers: { authorization: `Bearer ${token}` } })).json();
    if (mine.client_id !== clientId) return { error: `observation has client id ${mine.client_id}` };
    const { id, incident_id, entry_index, recorded_at, ...sent } = mine;
    const r = await fetch("/api/observations", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(sent) });
    return { status: r.status, body: await r.json() };
  }, answered.client_id);
  if (again.error) fail(again.error);
  if (again.status !== 200 || again.body.accepted?.[0]?.id !== answered.id) fail(`a resend was not recognised: ${JSON.stringify(again)}`);
  console.log(`observation=${answered.id}`);
  console.log("offline ok");
} finally {
  await browser.close();
}
process.exit(0); // stdin stays open for the caller's answers; do not wait for it
