// Shared steps of the end-to-end journeys.
import { expect } from "@playwright/test";

/** A fresh account per test: parallel runs and staging data never collide. */
export function newAccount() {
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  return { email: `e2e-${id}@example.com`, password: `e2e-pw-${id}-long` };
}

/** Register through the UI and come back to the login form. */
export async function register(page, account) {
  await page.goto("/login");
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByTestId("submit").click();
  await expect(page.getByRole("status")).toHaveText("Account created. You can log in now.");
}

/** Log in through the UI; the app lands on the chat page. */
export async function login(page, account) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByTestId("submit").click();
  await expect(page).toHaveURL(/\/chat$/);
  await expect(page.getByTestId("user-email")).toHaveText(account.email);
}

/** A registered and logged-in user. */
export async function signedIn(page) {
  const account = newAccount();
  await register(page, account);
  await login(page, account);
  return account;
}
