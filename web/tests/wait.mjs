// Waiting for a condition in the page under its Content Security Policy. Playwright's
// `waitForFunction` compiles the predicate inside the page with `eval`, which a policy without
// 'unsafe-eval' (the dashboard's) refuses; `page.evaluate` runs through the DevTools protocol,
// which the policy does not govern. So the predicate is evaluated from here until it holds.
// A page navigating meanwhile (its context destroyed) is waited out, as `waitForFunction` does.
// Rejects after `timeout` ms, naming the last error if there was one.
export async function waitUntil(page, predicate, arg, { timeout = 30000, polling = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last = "";
  for (;;) {
    try {
      if (await page.evaluate(predicate, arg)) return;
    } catch (e) {
      last = ` (last error: ${e.message})`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${predicate}${last}`);
    await new Promise((resolve) => setTimeout(resolve, polling));
  }
}
