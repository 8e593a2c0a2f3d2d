// The dashboard's AppSync real-time client against a scripted socket: handshake, start, data, reconnect.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RealtimeClient } from "../../../client_examples/dashboard/realtime.js";

class FakeSocket {
  static all = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.sent = [];
    this.readyState = 0;
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  receive(msg) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  close(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const tick = (ms) => new Promise((r) => setTimeout(r, ms));

test("connects with graphql-ws, starts each subscription after the ack, and is live once acked", async () => {
  FakeSocket.all = [];
  const states = [];
  const received = [];
  const client = new RealtimeClient({
    graphqlUrl: "http://127.0.0.1:8000/graphql",
    apiKey: "k",
    WebSocketImpl: FakeSocket,
    onState: (s) => states.push(s),
  });
  client.subscribe({ query: "subscription { onJobUpdated { jobId } }", onData: (p) => received.push(p) });
  client.connect();
  const ws = FakeSocket.all[0];
  assert.deepEqual(ws.protocols, ["graphql-ws"]);
  assert.match(ws.url, /^ws:\/\/127\.0\.0\.1:8000\/graphql\/realtime\?header=.+&payload=e30=$/);
  ws.open();
  assert.deepEqual(ws.sent[0], { type: "connection_init" });
  ws.receive({ type: "connection_ack", payload: { connectionTimeoutMs: 300000 } });
  const start = ws.sent[1];
  assert.equal(start.type, "start");
  assert.equal(start.id, "1");
  assert.deepEqual(JSON.parse(start.payload.data), { query: "subscription { onJobUpdated { jobId } }", variables: {} });
  assert.deepEqual(start.payload.extensions.authorization, { host: "127.0.0.1:8000", "x-api-key": "k" });
  assert.equal(states.at(-1), "subscribing");
  ws.receive({ type: "start_ack", id: "1" });
  assert.equal(states.at(-1), "live");
  ws.receive({ type: "ka" });
  ws.receive({ type: "data", id: "1", payload: { data: { onJobUpdated: { jobId: "a" } } } });
  assert.deepEqual(received, [{ data: { onJobUpdated: { jobId: "a" } } }]);
  client.close();
});

test("after the socket drops it retries with backoff and subscribes again on the new connection", async () => {
  FakeSocket.all = [];
  const states = [];
  const client = new RealtimeClient({
    graphqlUrl: "http://127.0.0.1:8000/graphql",
    apiKey: "k",
    WebSocketImpl: FakeSocket,
    onState: (s, d) => states.push([s, d]),
  });
  client.subscribe({ query: "subscription { onBatchUpdated { batchId } }", onData: () => {} });
  client.connect();
  let ws = FakeSocket.all[0];
  ws.open();
  ws.receive({ type: "connection_ack", payload: { connectionTimeoutMs: 300000 } });
  ws.receive({ type: "start_ack", id: "1" });
  ws.close(1006);
  const [state, detail] = states.at(-1);
  assert.equal(state, "retrying");
  assert.ok(detail.delayMs >= 400 && detail.delayMs <= 600, `first retry after ~0.5 s, got ${detail.delayMs}`);
  await tick(detail.delayMs + 20);
  ws = FakeSocket.all[1];
  assert.ok(ws, "a new socket was opened");
  ws.open();
  ws.receive({ type: "connection_ack", payload: { connectionTimeoutMs: 300000 } });
  assert.equal(ws.sent[1].type, "start");
  assert.equal(ws.sent[1].id, "1");
  ws.receive({ type: "start_ack", id: "1" });
  assert.deepEqual(states.at(-1), ["live", { reconnected: true }]);
  client.close();
});

test("a connection_error is reported as the reason for retrying", async () => {
  FakeSocket.all = [];
  const states = [];
  const client = new RealtimeClient({
    graphqlUrl: "http://127.0.0.1:8000/graphql",
    apiKey: "wrong",
    WebSocketImpl: FakeSocket,
    onState: (s, d) => states.push([s, d]),
  });
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.receive({ type: "connection_error", payload: { errors: [{ errorType: "UnauthorizedException", message: "bad key" }] } });
  const [state, detail] = states.at(-1);
  assert.equal(state, "retrying");
  assert.equal(detail.error, "UnauthorizedException: bad key");
  client.close();
});

test("no frame for connectionTimeoutMs counts as a dead connection", async () => {
  FakeSocket.all = [];
  const states = [];
  const client = new RealtimeClient({
    graphqlUrl: "http://127.0.0.1:8000/graphql",
    apiKey: "k",
    WebSocketImpl: FakeSocket,
    onState: (s) => states.push(s),
  });
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.receive({ type: "connection_ack", payload: { connectionTimeoutMs: 30 } });
  await tick(60);
  assert.equal(ws.readyState, 3);
  assert.equal(states.at(-1), "retrying");
  client.close();
});
