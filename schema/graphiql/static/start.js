// Starts GraphiQL on the page schema/graphiql/page.py writes. A file of its own, not an inline
// script, so the page's Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";

  // GraphiQL's scroll lock (react-remove-scroll) gives the <style> element it adds when a dialog
  // opens the nonce in this global; the page's policy allows styles with it, and its only copy
  // is on this script's element.
  window.__webpack_nonce__ = document.currentScript.nonce;

  // The page's own URL without its query string: /graphql on this origin. GraphiQL's fetcher
  // POSTs there with the headers typed in its Headers editor (Authorization: Bearer ...) over
  // its own; fetch sends this origin's cookies (the refresh cookie) by default.
  var fetcher = GraphiQL.createFetcher({
    url: window.location.origin + window.location.pathname,
  });

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: true,
      inputValueDeprecation: true,
    }),
  );
})();
