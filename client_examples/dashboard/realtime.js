// AppSync's real-time protocol over one WebSocket, with reconnect and re-subscribe (works against
// AppSync and against `asyncml serve`'s emulator alike).

import { apiKeyAuth, connectUrl } from "./endpoints.js";

const ACK_TIMEOUT_MS = 10_000; // gql waits as long for connection_ack
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000]; // then 8 s between tries, with jitter
// WebSocket close codes a user may meet, in words (1006: no close frame, e.g. the server is down).
const CLOSE_REASONS = { 1000: "connection closed", 1001: "server going away", 1006: "connection lost", 1012: "server restarting" };

/**
 * States reported through onState(state, detail):
 *   connecting → live (every subscription acknowledged) → retrying {delayMs, error} → connecting …
 *   closed (after close()).
 */
export class RealtimeClient {
  constructor({ graphqlUrl, apiKey, onState = () => {}, WebSocketImpl = globalThis.WebSocket }) {
    this.graphqlUrl = graphqlUrl;
    this.apiKey = apiKey;
    this.onState = onState;
    this.WebSocketImpl = WebSocketImpl;
    this.subs = new Map(); // our key -> {query, variables, onData, onError, opId, acked}
    this.byOpId = new Map(); // this connection's operation id -> our key
    this.nextKey = 1;
    this.failures = 0;
    this.connections = 0;
    this.ws = null;
    this.timers = {};
    this.closed = false;
  }

  /** Register a subscription; it is (re)started on every connection. Returns an unsubscribe function. */
  subscribe({ query, variables = {}, onData, onError = () => {} }) {
    const key = this.nextKey++;
    this.subs.set(key, { query, variables, onData, onError, opId: null, acked: false });
    if (this.live || this.state === "subscribing") this._start(key);
    return () => {
      const sub = this.subs.get(key);
      this.subs.delete(key);
      if (sub?.opId && this.ws?.readyState === 1) this._send({ type: "stop", id: sub.opId });
    };
  }

  connect() {
    this.closed = false;
    this._clearTimers();
    this._setState("connecting");
    const ws = new this.WebSocketImpl(connectUrl(this.graphqlUrl, this.apiKey), ["graphql-ws"]);
    this.ws = ws;
    ws.onopen = () => this._send({ type: "connection_init" });
    ws.onmessage = (ev) => this._onMessage(ev.data);
    ws.onclose = (ev) => ws === this.ws && this._onClose(ev);
    // A server that accepts the socket but never acks is as good as down.
    this.timers.ack = setTimeout(() => ws.close(), ACK_TIMEOUT_MS);
  }

  /** Try again at once (the user pressed "Reconnect now", or the browser came back online). */
  reconnectNow() {
    if (this.closed || this.state === "live" || this.state === "connecting") return;
    this.connect();
  }

  close() {
    this.closed = true;
    this._clearTimers();
    this.ws?.close();
    this._setState("closed");
  }

  get live() {
    return this.state === "live";
  }

  _onMessage(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    this._armKeepAlive(); // any frame proves the connection is alive, not only `ka`
    const sub = msg.id ? this.subs.get(this.byOpId.get(msg.id)) : undefined;
    switch (msg.type) {
      case "connection_ack":
        clearTimeout(this.timers.ack);
        // AppSync: if nothing (not even `ka`) arrives for connectionTimeoutMs, the connection is dead.
        this.kaTimeoutMs = msg.payload?.connectionTimeoutMs ?? 300_000;
        this._armKeepAlive();
        this.failures = 0;
        this.connections += 1;
        this.byOpId.clear();
        this.opCounter = 0;
        this._setState("subscribing");
        for (const key of this.subs.keys()) this._start(key);
        this._maybeLive();
        break;
      case "start_ack":
        if (sub) sub.acked = true;
        this._maybeLive();
        break;
      case "data":
        if (sub) sub.onData(msg.payload);
        break;
      case "error":
        if (sub) {
          sub.onError(errorsOf(msg));
        } else {
          this.lastError = messageOf(msg);
          this.ws?.close();
        }
        break;
      case "connection_error":
        // Bad URL or key: worth showing; retrying keeps going in case the key is fixed server-side.
        this.lastError = messageOf(msg);
        this.ws?.close();
        break;
      case "complete":
        if (sub) sub.opId = null;
        break;
      default: // "ka" and anything new: nothing to do beyond the keep-alive above
    }
  }

  _start(key) {
    const sub = this.subs.get(key);
    const opId = String(++this.opCounter); // "1", "2", … per connection, as gql numbers them
    sub.opId = opId;
    sub.acked = false;
    this.byOpId.set(opId, key);
    const data = JSON.stringify({ query: sub.query, variables: sub.variables });
    this._send({
      id: opId,
      type: "start",
      payload: { data, extensions: { authorization: apiKeyAuth(this.graphqlUrl, this.apiKey) } },
    });
  }

  _maybeLive() {
    if (this.state !== "subscribing") return;
    if ([...this.subs.values()].every((s) => s.acked)) {
      this._setState("live", { reconnected: this.connections > 1 });
    }
  }

  _onClose(ev) {
    this._clearTimers();
    if (this.closed) return;
    const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)] * (0.8 + Math.random() * 0.4);
    this.failures += 1;
    const error = this.lastError ?? CLOSE_REASONS[ev.code] ?? `connection closed (${ev.code})`;
    this.lastError = undefined;
    this._setState("retrying", { delayMs: Math.round(delay), error });
    this.timers.retry = setTimeout(() => this.connect(), delay);
  }

  _armKeepAlive() {
    if (!this.kaTimeoutMs) return;
    clearTimeout(this.timers.ka);
    this.timers.ka = setTimeout(() => this.ws?.close(), this.kaTimeoutMs);
  }

  _send(msg) {
    if (this.ws?.readyState === 1) this.ws.send(JSON.stringify(msg));
  }

  _clearTimers() {
    for (const t of Object.values(this.timers)) clearTimeout(t);
    this.timers = {};
  }

  _setState(state, detail = {}) {
    this.state = state;
    this.onState(state, detail);
  }
}

function errorsOf(msg) {
  return msg.payload?.errors ?? [{ message: messageOf(msg) }];
}

function messageOf(msg) {
  const e = msg.payload?.errors?.[0];
  return e ? [e.errorType, e.message].filter(Boolean).join(": ") : msg.type;
}
