"""[6] store: the results path's DynamoDB calls on the wire, without botocore's shape walkers.

A results chunk is a TransactWriteItems of 100 conditional Updates and a BatchGetItem reading 100
jobs back. botocore walks both, attribute map by attribute map, against the service model: to
serialize the request (a copy of what the store built, already in DynamoDB's JSON) and to parse
the answer (a copy of DynamoDB's JSON, the same low-level AttributeValue maps). That walking was
most of the results worker's CPU. For these two calls the request body is the parameters'
JSON, and the answer is the body's JSON; every other call goes through botocore as before, and
signing, retries, errors and the HTTP session are botocore's for all of them.

What this relies on, pinned by tests/adapters/test_dynamodb_wire.py against botocore itself: the
store's parameters hold only JSON types (no bytes, no datetimes: its items hold strings and numbers
only, so no `B` attribute needs base64 either way), and DynamoDB's JSON protocol serializes a
request as its parameters' JSON."""

from __future__ import annotations

import json
from typing import Any

PLAIN = frozenset({"TransactWriteItems", "BatchGetItem"})


class PlainJSONSerializer:
    """botocore's serializer for every operation but PLAIN's, whose bodies are json.dumps."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def serialize_to_request(self, parameters: dict[str, Any], operation_model: Any) -> dict[str, Any]:
        name = operation_model.name
        if name not in PLAIN:
            return dict(self._inner.serialize_to_request(parameters, operation_model))
        meta = operation_model.metadata
        return {
            "url_path": "/",
            "query_string": "",
            "method": operation_model.http.get("method", "POST"),
            "headers": {
                "X-Amz-Target": f"{meta['targetPrefix']}.{name}",
                "Content-Type": f"application/x-amz-json-{meta['jsonVersion']}",
            },
            "body": json.dumps(parameters).encode(),
        }


def _parse_plain(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    # botocore's documented hook before it parses: what goes in customized_response_dict is added
    # to the parsed answer. An error answer is left to botocore (its modeled exceptions).
    if response_dict.get("status_code", 500) >= 300:
        return
    customized_response_dict.update(json.loads(response_dict["body"]))
    response_dict["body"] = b"{}"  # nothing left for botocore's parser to walk


def plain_results_path(client: Any) -> Any:
    """`client` (a botocore DynamoDB client) with PLAIN's requests and answers as plain JSON."""
    client._serializer = PlainJSONSerializer(client._serializer)
    for name in PLAIN:
        client.meta.events.register(f"before-parse.dynamodb.{name}", _parse_plain)
    return client
