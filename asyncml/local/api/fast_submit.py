"""[8] subscription (local API): submitJobs without strawberry, for the one document shape clients send.

Strawberry coerces each of 500 inputs field by field and resolves each of 500 answers field by field:
about a third of the local stack's CPU at full load (docs/performance.md). The documents that
matter have one shape, `mutation ($v: [SubmitJobInput!]!) { submitJobs(inputs: $v) { jobId ... } }`,
with variables that are already plain JSON, so this module answers them directly: the same core
call, the same answer, the same errors (tests/e2e/test_fast_submit.py compares both paths).
Anything else, or any input strawberry would coerce or refuse, goes to strawberry unchanged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
)

from asyncml import shapes, submit
from asyncml.local.api.errors import formatted, log_unexpected
from asyncml.ports import Ports

# Job's fields (asyncml.local.api.types.Job), which the answer selects from; __typename is "Job".
_JOB_FIELDS = frozenset(
    ("jobId", "status", "payload", "result", "error", "batchId", "transformJobName", "metadata",
     "submittedAt", "updatedAt", "completedAt", "attempt", "__typename")
)  # fmt: skip
_INPUT_FIELDS = frozenset({"payload", "clientToken", "metadata"})
_CACHED_DOCUMENT = 16 * 1024


@dataclass(frozen=True)
class Plan:
    """What a submitJobs document asks: the variable holding its inputs, the fields to answer."""

    variable: str
    fields: tuple[str, ...]
    node: FieldNode  # where an error points (its locations)


def plan_of(query: str) -> Plan | None:
    """The plan of a document this module answers as strawberry would, else None."""
    if len(query) > _CACHED_DOCUMENT:
        return None  # 500 inline inputs: rare, and not worth caching; strawberry answers them
    return _plan(query)


@lru_cache(maxsize=256)
def _plan(query: str) -> Plan | None:
    try:
        document = parse(query)
    except (GraphQLError, RecursionError):
        return None
    return _plan_of_document(document)


def _plan_of_document(document: DocumentNode) -> Plan | None:
    if len(document.definitions) != 1:
        return None
    op = document.definitions[0]
    if not isinstance(op, OperationDefinitionNode) or op.operation is not OperationType.MUTATION:
        return None
    variables = op.variable_definitions or ()
    if op.directives or len(variables) != 1:
        return None
    var = variables[0]
    if var.default_value is not None or var.directives or not _is_input_list(var.type):
        return None
    if len(op.selection_set.selections) != 1:
        return None
    root = op.selection_set.selections[0]
    if not isinstance(root, FieldNode) or root.name.value != "submitJobs" or root.alias or root.directives:
        return None
    arguments = root.arguments or ()
    if len(arguments) != 1 or arguments[0].name.value != "inputs":
        return None
    value = arguments[0].value
    if not isinstance(value, VariableNode) or value.name.value != var.variable.name.value:
        return None
    if root.selection_set is None or not root.selection_set.selections:
        return None
    fields: list[str] = []
    for sel in root.selection_set.selections:
        if not isinstance(sel, FieldNode) or sel.alias or sel.directives or sel.arguments:
            return None
        if sel.selection_set is not None or sel.name.value not in _JOB_FIELDS:
            return None
        fields.append(sel.name.value)
    return Plan(var.variable.name.value, tuple(dict.fromkeys(fields)), root)


def _is_input_list(node: object) -> bool:
    """`[SubmitJobInput!]!`, the type schema.graphql declares (other types strawberry checks)."""
    if not isinstance(node, NonNullTypeNode) or not isinstance(node.type, ListTypeNode):
        return False
    inner = node.type.type
    return (
        isinstance(inner, NonNullTypeNode)
        and isinstance(inner.type, NamedTypeNode)
        and inner.type.name.value == "SubmitJobInput"
    )


def inputs_of(variables: dict[str, Any] | None, plan: Plan) -> list[submit.SubmitInput] | None:
    """The inputs as strawberry would coerce them; None if strawberry would coerce or refuse anything."""
    given = (variables or {}).get(plan.variable)
    if not isinstance(given, list):
        return None  # missing, null, or one object GraphQL would wrap in a list
    out: list[submit.SubmitInput] = []
    for item in given:
        if type(item) is not dict or not item.keys() <= _INPUT_FIELDS:
            return None
        payload, token, metadata = item.get("payload"), item.get("clientToken"), item.get("metadata")
        if type(payload) is not str or not (token is None or type(token) is str):
            return None
        if metadata is not None and type(metadata) is not str:
            # AWSJSON's parse_value (types._parse_json) serialises a structured value.
            metadata = json.dumps(metadata, separators=(",", ":"))
        out.append(submit.SubmitInput(payload=payload, client_token=token, metadata=metadata))
    return out


def answer(ports: Ports, plan: Plan, inputs: list[submit.SubmitInput]) -> dict[str, Any]:
    """The body strawberry would answer: the jobs with the selected fields, or the core's error."""
    try:
        jobs = submit.submit_jobs(ports, inputs)
    except Exception as exc:
        error = GraphQLError(str(exc), [plan.node], path=["submitJobs"], original_error=exc)
        log_unexpected([error])
        return {"data": None, "errors": [formatted(error)]}
    fields = plan.fields
    if fields == ("jobId",):  # what a bulk client asks: nothing to shape
        return {"data": {"submitJobs": [{"jobId": job.job_id} for job in jobs]}}
    items = []
    for job in jobs:
        shaped = shapes.job(job)
        shaped["__typename"] = "Job"
        items.append({name: shaped[name] for name in fields})
    return {"data": {"submitJobs": items}}
