// The real-time URL rules the dashboard relies on, for AppSync and for a local server.
import assert from "node:assert/strict";
import { test } from "node:test";

import { apiKeyAuth, connectUrl, realtimeUrl } from "../../../client_examples/dashboard/endpoints.js";

test("an AppSync URL maps to wss and the appsync-realtime-api host, path unchanged", () => {
  assert.equal(
    realtimeUrl("https://abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com/graphql"),
    "wss://abcdefghijklmnopqrstuvwxyz.appsync-realtime-api.eu-west-1.amazonaws.com/graphql",
  );
});

test("a local plain-HTTP URL maps to ws and /graphql/realtime", () => {
  assert.equal(realtimeUrl("http://127.0.0.1:8000/graphql"), "ws://127.0.0.1:8000/graphql/realtime");
  assert.equal(realtimeUrl("http://localhost:8000/graphql/"), "ws://localhost:8000/graphql/realtime");
});

test("a custom https domain maps to wss and /graphql/realtime", () => {
  assert.equal(realtimeUrl("https://api.example.com/graphql"), "wss://api.example.com/graphql/realtime");
});

test("the auth header names the API host, not the realtime host", () => {
  const url = "https://abc.appsync-api.us-east-1.amazonaws.com/graphql";
  assert.deepEqual(apiKeyAuth(url, "da2-key"), { host: "abc.appsync-api.us-east-1.amazonaws.com", "x-api-key": "da2-key" });
});

test("the connect URL carries the header as compact standard base64 JSON and payload=e30=", () => {
  const url = connectUrl("http://127.0.0.1:8000/graphql", "k+/=");
  const [base, query] = url.split("?");
  assert.equal(base, "ws://127.0.0.1:8000/graphql/realtime");
  const [header, payload] = query.split("&");
  assert.equal(payload, "payload=e30=");
  const b64 = header.slice("header=".length);
  assert.equal(Buffer.from(b64, "base64").toString(), '{"host":"127.0.0.1:8000","x-api-key":"k+/="}');
  assert.equal(Buffer.from("{}").toString("base64"), "e30=");
});

test("batch downloads and health live on the local server; AppSync has no health route", async () => {
  const { downloadUrl, healthUrl } = await import("../../../client_examples/dashboard/endpoints.js");
  assert.equal(downloadUrl("http://127.0.0.1:8000/graphql", "20261125-115728-6921af46", "output"), "http://127.0.0.1:8000/batches/20261125-115728-6921af46/output");
  assert.equal(healthUrl("http://127.0.0.1:8000/graphql"), "http://127.0.0.1:8000/healthz");
  assert.equal(healthUrl("https://abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com/graphql"), null);
});
