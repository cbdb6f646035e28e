// Journey 1: sign up, log in, stay signed in, log out — and the refusals users see.
import { expect, test } from "@playwright/test";

import { login, newAccount, register } from "./helpers.js";

test("a new user signs up, logs in and logs out", async ({ page }) => {
  const account = newAccount();
  await register(page, account);
  await login(page, account);

  await page.getByTestId("logout").click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByTestId("user-email")).toHaveCount(0);
});

test("a wrong password is refused without saying whether the account exists", async ({ page }) => {
  const account = newAccount();
  await register(page, account);
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill("definitely-not-the-password");
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("error")).toBeVisible();
  await expect(page).toHaveURL(/\/login$/);
});

test("protected pages send signed-out visitors to the login form", async ({ page }) => {
  await page.goto("/notes");
  await expect(page.getByTestId("login-form")).toBeVisible();
});

test("the session survives a reload (refresh cookie)", async ({ page }) => {
  const account = newAccount();
  await register(page, account);
  await login(page, account);
  await page.reload();
  await expect(page.getByTestId("user-email")).toHaveText(account.email);
});
