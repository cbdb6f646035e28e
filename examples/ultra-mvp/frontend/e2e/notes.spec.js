// Journey 3: private notes — create, list, delete; another user never sees them.
import { expect, test } from "@playwright/test";

import { signedIn } from "./helpers.js";

test("a user creates and deletes a note", async ({ page }) => {
  await signedIn(page);
  await page.getByRole("link", { name: "Notes" }).click();
  await expect(page.getByText("No notes yet.")).toBeVisible();

  await page.getByLabel("Title").fill("Launch checklist");
  await page.getByLabel("Note").fill("backups verified, alerts routed");
  await page.getByRole("button", { name: "Save note" }).click();

  const notes = page.getByTestId("notes");
  await expect(notes.getByRole("heading", { name: "Launch checklist" })).toBeVisible();
  await expect(notes).toContainText("backups verified, alerts routed");

  await notes.getByRole("button", { name: "Delete" }).click();
  await expect(notes.locator("li")).toHaveCount(0);
  await expect(page.getByText("No notes yet.")).toBeVisible();
});

test("notes are private to their author", async ({ browser }) => {
  const alice = await browser.newPage();
  await signedIn(alice);
  await alice.getByRole("link", { name: "Notes" }).click();
  await alice.getByLabel("Title").fill("alice only");
  await alice.getByRole("button", { name: "Save note" }).click();
  await expect(alice.getByTestId("notes")).toContainText("alice only");

  const bob = await browser.newPage(); // a separate context: no shared cookies
  await signedIn(bob);
  await bob.getByRole("link", { name: "Notes" }).click();
  await expect(bob.getByText("No notes yet.")).toBeVisible();
  await expect(bob.getByTestId("notes")).not.toContainText("alice only");
});
