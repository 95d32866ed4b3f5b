// What the browser scripts share: Debian's chromium driven by playwright-core, a page server
// for another origin, and a deadline for the whole run.
import { createServer } from "node:http";

import { chromium } from "playwright-core";

// playwright-core downloads no browser: it drives the one `make clients` installs, or the one
// the CHROMIUM environment variable names.
export const CHROMIUM_PATH = process.env.CHROMIUM || "/usr/bin/chromium";

/** Fails the run if it has not finished in `seconds`: a hung page must not hang the suite. */
export function deadline(seconds) {
  setTimeout(() => {
    console.error(`${process.argv[1]} did not finish within ${seconds} s`);
    process.exit(3);
  }, seconds * 1000).unref();
}

export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, timeout: 30_000 });
}

/** An HTTP server on 127.0.0.1:`port` (http://localhost:`port` to a browser) answering every GET with `html`; resolves once listening. */
export function servePage(port, html) {
  const server = createServer((request, response) => {
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(html);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** Everything a page logs as an error, and every request it makes, for the script to report. */
export function watch(page) {
  const seen = { consoleErrors: [], pageErrors: [], requests: [] };
  page.on("console", (message) => {
    if (message.type() === "error") seen.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => seen.pageErrors.push(String(error)));
  page.on("request", (request) => seen.requests.push(`${request.method()} ${request.url()}`));
  return seen;
}
