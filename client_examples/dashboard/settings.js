// Which API the dashboard talks to: typed in by the user, handed over in the link, or named by the
// server that serves it.

const KEY = "asyncml.dashboard.settings";

/**
 * First match wins:
 * 1. `#apiKey=KEY` in the address: the link `asyncml serve` prints. A fragment never reaches a
 *    server or its logs; the key is saved with this server's URL and the fragment wiped at once.
 * 2. Settings saved in this browser.
 * 3. `config.json` next to index.html: `asyncml serve` answers it with its URLs, never the key (any
 *    local process could read it); a static deployment may ship one with a URL and key.
 * What comes back may lack the key: the page then asks for it.
 */
export async function loadSettings() {
  const linkedKey = takeKeyFromAddress();
  const saved = readSaved();
  if (linkedKey) {
    const served = await fetchServed();
    const graphqlUrl = served?.graphqlUrl ?? saved?.graphqlUrl ?? new URL("graphql", location.href).href;
    const settings = { graphqlUrl, apiKey: linkedKey, source: "link" };
    save(settings);
    return settings;
  }
  if (saved) return saved;
  return await fetchServed();
}

/** The key from `#apiKey=…`, removed from the address bar and this history entry. */
export function takeKeyFromAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has("apiKey")) return null;
  history.replaceState(history.state, "", location.pathname + location.search);
  return params.get("apiKey").trim() || null;
}

export async function fetchServed() {
  try {
    const res = await fetch("config.json", { cache: "no-store" });
    if (!res.ok) return null;
    const cfg = await res.json();
    if (!cfg.graphqlUrl) return null;
    // A config naming a relative URL ("/graphql") means "this server".
    return { graphqlUrl: new URL(cfg.graphqlUrl, location.href).href, apiKey: cfg.apiKey ?? "" };
  } catch {
    return null;
  }
}

export function save(settings) {
  localStorage.setItem(KEY, JSON.stringify(settings));
}

export function forget() {
  localStorage.removeItem(KEY);
}

function readSaved() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? "null");
    return s?.graphqlUrl && s?.apiKey ? s : null;
  } catch {
    return null;
  }
}
