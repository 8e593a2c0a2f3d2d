// GraphiQL for `asyncml serve`, with the API key filled in the way the dashboard gets it.
"use strict";

(function () {
  const DASHBOARD_SETTINGS = "asyncml.dashboard.settings"; // client_examples/dashboard/settings.js
  const TAB_KEY = "asyncml.graphiql.apiKey";

  // `#apiKey=KEY` (what `asyncml serve` prints) wins; a fragment never reaches a server or a log.
  // It leaves the address bar at once and stays with this tab only, so a reload keeps working.
  function keyFromFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    const key = params.get("apiKey")?.trim();
    if (!key) return null;
    sessionStorage.setItem(TAB_KEY, key);
    history.replaceState(null, "", location.pathname + location.search);
    return key;
  }

  // The dashboard's saved settings hold a key for the API they name: use it only if that is us
  // (a dashboard pointed at AppSync keeps AppSync's key).
  function keyFromDashboard() {
    try {
      const saved = JSON.parse(localStorage.getItem(DASHBOARD_SETTINGS) ?? "null");
      if (saved?.apiKey && new URL(saved.graphqlUrl, location.href).origin === location.origin) {
        return saved.apiKey;
      }
    } catch {
      // unreadable settings: no key, the user can type one in the headers tab
    }
    return null;
  }

  const apiKey = keyFromFragment() ?? sessionStorage.getItem(TAB_KEY) ?? keyFromDashboard() ?? "";
  const url = new URL("/graphql", location.href).href;
  const auth = apiKey ? { "x-api-key": apiKey } : {};
  const fetcher = GraphiQL.createFetcher({
    url,
    headers: auth,
    // Subscriptions go over graphql-transport-ws; the local server reads the key from connection_init.
    subscriptionUrl: url.replace(/^http/, "ws"),
    wsConnectionParams: auth,
  });
  const headers = JSON.stringify(auth, null, 2);
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultHeaders: headers,
      headers,
      shouldPersistHeaders: false,
      defaultQuery: "{\n  listJobs(limit: 5) {\n    items { jobId status result error }\n    nextToken\n  }\n}\n",
    }),
  );
})();
