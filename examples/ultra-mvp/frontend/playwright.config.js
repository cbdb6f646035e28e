// End-to-end tests of the critical journeys (sign-up and login, chat, notes) in real browsers.
//
// They run against a running stack — staging before a release, or a local one:
//   docker compose up -d --wait             (or the three processes of the README's "Run it")
//   npm ci && npx playwright install --with-deps
//   E2E_BASE_URL=http://127.0.0.1:8080 npm run test:e2e
//
// The API behind the frontend must run with MOCK_LLM=true or a provider that answers (the fake
// provider in tools/ does), and its login rate limit must allow a few logins per minute.
// Every test registers its own throw-away account, so the tests can run in parallel and
// against a shared staging database.
import { defineConfig, devices } from "@playwright/test";

const baseURL = process.env.E2E_BASE_URL || "http://127.0.0.1:8080";

export default defineConfig({
  testDir: "./e2e",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  workers: process.env.CI ? 2 : undefined,
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    video: "off",
  },
  projects: [
    { name: "chromium", use: { ...devices["Desktop Chrome"] } },
    { name: "firefox", use: { ...devices["Desktop Firefox"] } },
    { name: "webkit", use: { ...devices["Desktop Safari"] } },
    // phones: the layout must work at 390-412 px without horizontal scrolling
    { name: "mobile-chromium", use: { ...devices["Pixel 7"] } },
    { name: "mobile-webkit", use: { ...devices["iPhone 14"] } },
  ],
});
