// A storefront page on another origin calls the API from headless Chromium with
// `credentials: "include"`: it signs in, the refresh token arrives as an httpOnly cookie, the
// page refreshes with that cookie alone, and asks for `me`. A page on an origin the API does not
// allow makes the same call and the browser refuses it.
//
//   node cross-origin.mjs <API URL> <allowed page port> <other page port> <email> <password>
//
// Prints a JSON summary of what the pages saw; tests/clients/test_browser.py checks it.
import assert from "node:assert/strict";

import { deadline, launchChromium, servePage, watch } from "./chromium.mjs";

const [apiUrl, allowedPort, otherPort, email, password] = process.argv.slice(2);
if (!apiUrl || !allowedPort || !otherPort || !email || !password) {
  console.error("usage: node cross-origin.mjs <API URL> <allowed port> <other port> <email> <password>");
  process.exit(2);
}
deadline(60);

const PAGE = "<!doctype html><title>Storefront</title><h1>Storefront</h1>";

// Runs in the page: what a frontend's own code does with fetch. `step` is "login", or "refresh"
// (with the cookie alone), then `me` with the new access token.
async function storefrontStep({ apiUrl, step, email, password }) {
  async function graphql(query, variables = {}, token = null) {
    const response = await fetch(apiUrl, {
      method: "POST",
      credentials: "include",
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return response.json();
  }
  if (step === "login") {
    const { login } = (
      await graphql(
        "mutation ($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }",
        { input: { email, password } },
      )
    ).data;
    return { errors: login.errors, accessToken: Boolean(login.accessToken) };
  }
  const { refreshToken } = (
    await graphql("mutation { refreshToken { accessToken errors { code } } }")
  ).data;
  const me = await graphql("{ me { email } }", {}, refreshToken.accessToken);
  // The refresh token is httpOnly: the page's own script never sees it.
  return { errors: refreshToken.errors, me: me.data?.me?.email ?? null, pageCookies: document.cookie };
}

async function blockedCall({ apiUrl }) {
  try {
    const response = await fetch(apiUrl, {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    return { answered: response.status };
  } catch (error) {
    return { refused: `${error.name}: ${error.message}` };
  }
}

const servers = await Promise.all([servePage(allowedPort, PAGE), servePage(otherPort, PAGE)]);
const browser = await launchChromium();
try {
  const context = await browser.newContext();
  const cookiesNamed = async (name) =>
    (await context.cookies(apiUrl)).filter((cookie) => cookie.name === name);

  const page = await context.newPage();
  const seen = watch(page);
  await page.goto(`http://localhost:${allowedPort}/`);
  const login = await page.evaluate(storefrontStep, { apiUrl, step: "login", email, password });
  const [signedIn] = await cookiesNamed("refresh_token");
  assert.ok(signedIn, "the browser keeps the refresh cookie of a cross-origin sign-in");
  const refresh = await page.evaluate(storefrontStep, { apiUrl, step: "refresh" });
  const [refreshed] = await cookiesNamed("refresh_token");

  const other = await context.newPage();
  const otherSeen = watch(other);
  await other.goto(`http://localhost:${otherPort}/`);
  const blocked = await other.evaluate(blockedCall, { apiUrl });

  console.log(
    JSON.stringify({
      login,
      refresh,
      refreshCookie: {
        httpOnly: signedIn.httpOnly,
        sameSite: signedIn.sameSite,
        path: signedIn.path,
        rotated: refreshed.value !== signedIn.value,
      },
      allowedPage: seen,
      blocked,
      otherPage: otherSeen,
    }),
  );
} finally {
  await browser.close();
  for (const server of servers) server.close();
}
