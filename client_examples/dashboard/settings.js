// Which API the dashboard talks to: typed in by the user, or named by the server that serves it.

const KEY = "asyncml.dashboard.settings";

/**
 * Settings the user saved win. Otherwise `config.json` next to index.html names the API: `asyncml serve`
 * answers it with its own URL and key (a static deployment may ship one too). Fetched again on every
 * load while the settings came from there, so a restarted local server with a new key is followed.
 */
export async function loadSettings() {
  const saved = readSaved();
  if (saved?.source === "user") return saved;
  const served = await fetchServed();
  if (served) {
    save({ ...served, source: "server" });
    return { ...served, source: "server" };
  }
  return saved;
}

export async function fetchServed() {
  try {
    const res = await fetch("config.json", { cache: "no-store" });
    if (!res.ok) return null;
    const cfg = await res.json();
    if (!cfg.graphqlUrl || !cfg.apiKey) return null;
    // A config naming a relative URL ("/graphql") means "this server".
    return { graphqlUrl: new URL(cfg.graphqlUrl, location.href).href, apiKey: cfg.apiKey };
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
