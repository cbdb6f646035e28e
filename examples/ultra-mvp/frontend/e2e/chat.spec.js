// Journey 2: chat with the LLM (streamed answer), the product's core feature.
import { expect, test } from "@playwright/test";

import { signedIn } from "./helpers.js";

test("a signed-in user gets a streamed answer", async ({ page }) => {
  await signedIn(page);
  await page.getByLabel("Message").fill("hello from the browser");
  await page.getByTestId("send").click();

  const log = page.getByTestId("chat-log");
  await expect(log.locator('[data-role="user"]')).toHaveText("hello from the browser");
  // the fake provider and the mock both echo the last user message
  await expect(log.locator('[data-role="assistant"]')).toContainText("hello from the browser");
  await expect(page.getByTestId("send")).toBeEnabled();
});

test("Enter sends, Shift+Enter adds a line", async ({ page }) => {
  await signedIn(page);
  const input = page.getByLabel("Message");
  await input.fill("first line");
  await input.press("Shift+Enter");
  await expect(page.getByTestId("chat-log").locator("li")).toHaveCount(0);
  await input.press("Enter");
  await expect(page.getByTestId("chat-log").locator('[data-role="assistant"]')).toHaveCount(1);
});
