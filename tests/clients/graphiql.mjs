// GraphiQL in headless Chromium, as a developer uses it: open /graphql, type a query, run it,
// read the result pane; then type an Authorization header in the Headers editor and run `me`.
//
//   node graphiql.mjs <API URL> <access token>
//
// Prints a JSON summary: both result panes' text, every request the page made, and anything it
// logged as an error (a script or style the page's policy refused shows up there).
import { deadline, launchChromium, watch } from "./chromium.mjs";

const [apiUrl, accessToken] = process.argv.slice(2);
if (!apiUrl || !accessToken) {
  console.error("usage: node graphiql.mjs <API URL> <access token>");
  process.exit(2);
}
deadline(60);

const CATALOG_QUERY = "{ products(first: 5) { edges { node { name } } } }";
const ME_QUERY = "{ me { email } }";

// GraphiQL's editors are CodeMirror 5 instances; the result is read whole from its own.
function resultText() {
  return document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue();
}

function resultChanged(previous) {
  const text = document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue();
  return text.trim() !== "" && text !== previous;
}

async function replaceText(page, editorSelector, text) {
  await page.locator(`${editorSelector} .CodeMirror`).filter({ visible: true }).click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  // GraphiQL closes brackets and quotes as one types, and types over them: what is typed stays.
  await page.keyboard.type(text);
  await page.keyboard.press("Escape"); // closes an autocompletion list, if one is open
}

async function run(page, query, previous) {
  await replaceText(page, ".graphiql-query-editor", query);
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(resultChanged, previous);
  return page.evaluate(resultText);
}

const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const seen = watch(page);
  // GraphiQL's first request asks for the schema; the first query waits for its answer.
  const schema = page.waitForResponse(
    (response) => response.url() === `${apiUrl}/graphql` && response.request().method() === "POST",
  );
  await page.goto(`${apiUrl}/graphql`);
  await schema;

  const catalog = await run(page, CATALOG_QUERY, "");

  await page.getByRole("button", { name: "Headers" }).click();
  await replaceText(
    page,
    ".graphiql-editor-tool",
    `{"Authorization": "Bearer ${accessToken}"}`,
  );
  const me = await run(page, ME_QUERY, catalog);

  console.log(
    JSON.stringify({
      title: await page.title(),
      results: [catalog, me],
      ...seen,
    }),
  );
} finally {
  await browser.close();
}
