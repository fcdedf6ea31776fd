// First-load figures, printed as a Markdown table (scripts/figures.sh runs it against the release server):
// for each page, the bytes transferred on a cold cache (compressed, as on the wire) and the time until the
// page is interactive: until the last island hydrated (the shell's data-hydrated mark, see
// app/src/components/layout.rs), measured from the navigation's start. Twice: on loopback as it is, and on an
// emulated 10 Mbit/s line with 40 ms round trips (Chromium's network emulation). A measurement, not a test: it
// prints what it sees and fails only if a page cannot be loaded.
//
//   node end2end/perf/first-load.mjs http://127.0.0.1:3000 [runs]
//
// Signs in as carol (an admin: every page opens) through the development identity provider first.
import { chromium } from "@playwright/test";

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const runs = Number(process.argv[3] ?? 3);
const LINES = {
  loopback: null,
  "10 Mbit/s, 40 ms": { offline: false, latency: 40, downloadThroughput: (10e6 / 8), uploadThroughput: (10e6 / 8) },
};
// Visitors see the home page signed out; the rest needs a session.
const PAGES = [
  { path: "/", signedIn: false, label: "/ (visitor)" },
  { path: "/", signedIn: true, label: "/ (admin)" },
  { path: "/requests/new", signedIn: true },
  { path: "/requests", signedIn: true },
  { path: "/access", signedIn: true },
  { path: "/approvals", signedIn: true },
  { path: "/admin", signedIn: true },
  { path: "/admin/audit", signedIn: true },
  { path: "/admin/server", signedIn: true },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});

async function signedInState() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/auth/login?return_to=/`);
  await page.getByLabel("Username").fill("carol");
  await page.getByLabel("Password").fill("dev");
  await Promise.all([page.waitForURL(`${base}/`), page.getByRole("button", { name: "Sign in" }).click()]);
  const state = await context.storageState();
  await context.close();
  return state;
}

/** One cold load of `path`: bytes on the wire (headers included) and ms until interactive. */
async function coldLoad(path, storageState, line) {
  // A new context has an empty cache.
  const context = await browser.newContext({ storageState });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  if (line) await cdp.send("Network.emulateNetworkConditions", line);
  let bytes = 0;
  const wasm = { encoded: 0 };
  const urls = new Map();
  cdp.on("Network.responseReceived", (event) => urls.set(event.requestId, event.response.url));
  cdp.on("Network.loadingFinished", (event) => {
    bytes += event.encodedDataLength;
    if ((urls.get(event.requestId) ?? "").endsWith(".wasm")) wasm.encoded += event.encodedDataLength;
  });
  // The moment the mark appears, from the page's own clock (no polling delay).
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('.shell[data-hydrated="true"]')) {
        window.berthInteractiveAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
  });
  await page.goto(`${base}${path}`);
  await page.waitForSelector('.shell[data-hydrated="true"]', { timeout: 60_000 });
  const interactive = await page.evaluate(() => window.berthInteractiveAt);
  // Whatever is still in flight (a preload) counts towards the transfer.
  await page.waitForLoadState("networkidle");
  await context.close();
  return { bytes, interactive, wasm: wasm.encoded };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

const state = await signedInState();
console.log(`| page | first-load transfer | of it WASM | interactive, loopback | interactive, 10 Mbit/s 40 ms |`);
console.log(`|---|---|---|---|---|`);
for (const { path, signedIn, label } of PAGES) {
  const results = {};
  for (const [name, line] of Object.entries(LINES)) {
    const loads = [];
    for (let run = 0; run < runs; run += 1) loads.push(await coldLoad(path, signedIn ? state : undefined, line));
    results[name] = loads;
  }
  const loads = results.loopback;
  console.log(
    `| ${label ?? path} | ${kib(median(loads.map((l) => l.bytes)))} | ${kib(median(loads.map((l) => l.wasm)))} | ` +
      `${Math.round(median(loads.map((l) => l.interactive)))} ms | ` +
      `${Math.round(median(results["10 Mbit/s, 40 ms"].map((l) => l.interactive)))} ms |`,
  );
}
await browser.close();
