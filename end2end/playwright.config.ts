import { defineConfig } from "@playwright/test";

// The server under test is started by scripts/test.sh, which passes its address here.
const baseURL = process.env.E2E_BASE_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  testDir: "./tests",
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 1,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  outputDir: "./test-results",
  use: {
    baseURL,
    browserName: "chromium",
    headless: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      // Debian's Chromium: Playwright's own browser download cannot work without internet access.
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      // Without the background-networking flags Chromium keeps calling home, which a closed network refuses.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  // Specs are filed by the page they need: tests/both/ runs with and without JavaScript, tests/hydrated/
  // exercises what only the hydrated page does (live checks, in-place updates, the status turning ready while
  // one watches), tests/plain/ the same workflow as plain forms and redirects. A new spec chooses by its folder.
  projects: [
    // The server-rendered page alone must be complete and usable, forms included.
    { name: "js-off", use: { javaScriptEnabled: false }, testMatch: ["both/**/*.spec.ts", "plain/**/*.spec.ts"] },
    // The page hydrates and the client takes over.
    { name: "js-on", use: { javaScriptEnabled: true }, testMatch: ["both/**/*.spec.ts", "hydrated/**/*.spec.ts"] },
  ],
});
