"""[8] subscription (local API): submitJobs and submitJob without strawberry, for the shapes clients send.

Strawberry coerces each of 500 inputs field by field and resolves each of 500 answers field by field:
about a third of the local stack's CPU at full load (docs/performance.md), and most of a single
submitJob's. The documents that matter have few shapes,
`mutation ($v: [SubmitJobInput!]!) { submitJobs(inputs: $v) { jobId ... } }`,
`mutation ($v: SubmitJobInput!) { submitJob(input: $v) { ... } }` and
`mutation ($p: String!) { submitJob(input: {payload: $p}) { ... } }`, with variables that are already
plain JSON, so this module answers them directly: the same core call, the same answer, the same errors
(tests/e2e/test_fast_submit.py compares both paths). Anything else, or any input strawberry would
coerce or refuse, goes to strawberry unchanged."""

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
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    TypeNode,
    VariableDefinitionNode,
    VariableNode,
    parse,
)

from asyncml import shapes, submit
from asyncml.local.api.errors import formatted, log_unexpected
from asyncml.model import Job
from asyncml.ports import Ports

# Job's fields (asyncml.local.api.types.Job), which the answer selects from; __typename is "Job".
_JOB_FIELDS = frozenset(
    ("jobId", "status", "payload", "result", "error", "batchId", "transformJobName", "metadata",
     "submittedAt", "updatedAt", "completedAt", "attempt", "__typename")
)  # fmt: skip
_INPUT_FIELDS = frozenset({"payload", "clientToken", "metadata"})
# A variable standing for one field of an inline SubmitJobInput: the types GraphQL lets it have there
# (a nullable variable in payload's non-null place is refused, so strawberry says so).
_MEMBER_TYPES = {
    "payload": {("String", True)},
    "clientToken": {("String", False), ("String", True)},
    "metadata": {("AWSJSON", False), ("AWSJSON", True)},
}
_CACHED_DOCUMENT = 16 * 1024


@dataclass(frozen=True)
class Member:
    """One field of an inline `submitJob(input: {...})`: a variable's name, or a string literal."""

    name: str
    variable: str | None
    non_null: bool = False
    literal: str | None = None


@dataclass(frozen=True)
class Plan:
    """What a document asks: where its inputs are, the fields to answer."""

    variable: str | None  # the variable holding the inputs (submitJobs) or the one input (submitJob)
    fields: tuple[str, ...]
    node: FieldNode  # where an error points (its locations)
    root: str = "submitJobs"
    members: tuple[Member, ...] = ()  # submitJob(input: {...}): its fields, when variable is None


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
    if op.directives or any(v.default_value is not None or v.directives for v in variables):
        return None
    if len(op.selection_set.selections) != 1:
        return None
    root = op.selection_set.selections[0]
    if not isinstance(root, FieldNode) or root.alias or root.directives:
        return None
    arguments = root.arguments or ()
    if len(arguments) != 1:
        return None
    name, value = root.name.value, arguments[0].value
    variable: str | None = None
    members: tuple[Member, ...] = ()
    if name == "submitJobs" and arguments[0].name.value == "inputs":
        if len(variables) != 1 or not _is_input_list(variables[0].type):
            return None
        variable = _the_variable(value, variables)
    elif name == "submitJob" and arguments[0].name.value == "input":
        if isinstance(value, ObjectValueNode):
            members = _members(value, variables) or ()
        elif len(variables) == 1 and _named(variables[0].type) == ("SubmitJobInput", True):
            variable = _the_variable(value, variables)
    if variable is None and not members:
        return None
    fields = _fields(root)
    if fields is None:
        return None
    return Plan(variable, fields, root, name, members)


def _the_variable(value: object, variables: tuple[VariableDefinitionNode, ...]) -> str | None:
    if not isinstance(value, VariableNode) or value.name.value != variables[0].variable.name.value:
        return None
    return value.name.value


def _members(
    value: ObjectValueNode, variables: tuple[VariableDefinitionNode, ...]
) -> tuple[Member, ...] | None:
    """`{payload: $p, clientToken: "t", ...}`: each field a variable of a type its place accepts, or
    a string; every declared variable used once (an unused one is an error strawberry reports)."""
    declared = {v.variable.name.value: _named(v.type) for v in variables}
    members: list[Member] = []
    used: set[str] = set()
    for field in value.fields:
        name, given = field.name.value, field.value
        if name not in _INPUT_FIELDS or any(m.name == name for m in members):
            return None
        if isinstance(given, StringValueNode):
            members.append(Member(name, None, literal=given.value))
        elif isinstance(given, VariableNode):
            var = given.name.value
            kind = declared.get(var)
            if var in used or kind not in _MEMBER_TYPES[name]:
                return None
            used.add(var)
            members.append(Member(name, var, non_null=kind is not None and kind[1]))
        else:
            return None
    if len(declared) != len(variables) or used != declared.keys():
        return None
    if not any(m.name == "payload" for m in members):
        return None
    return tuple(members)


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


def _named(node: TypeNode) -> tuple[str, bool] | None:
    """A named type and whether it is non-null (`String!` -> ("String", True)); None for a list."""
    non_null = isinstance(node, NonNullTypeNode)
    inner = node.type if isinstance(node, NonNullTypeNode) else node
    return (inner.name.value, non_null) if isinstance(inner, NamedTypeNode) else None


def _fields(root: FieldNode) -> tuple[str, ...] | None:
    if root.selection_set is None or not root.selection_set.selections:
        return None
    fields: list[str] = []
    for sel in root.selection_set.selections:
        if not isinstance(sel, FieldNode) or sel.alias or sel.directives or sel.arguments:
            return None
        if sel.selection_set is not None or sel.name.value not in _JOB_FIELDS:
            return None
        fields.append(sel.name.value)
    return tuple(dict.fromkeys(fields))


def inputs_of(variables: dict[str, Any] | None, plan: Plan) -> list[submit.SubmitInput] | None:
    """The inputs as strawberry would coerce them; None if strawberry would coerce or refuse anything.
    (An operationName that names no operation was refused before: http_request.parse_operation.)"""
    variables = variables or {}
    if plan.variable is None:
        item: dict[str, Any] = {}
        for m in plan.members:
            if m.variable is None:
                item[m.name] = m.literal
            elif m.variable in variables:
                item[m.name] = variables[m.variable]
                if item[m.name] is None and m.non_null:
                    return None
            elif m.non_null:
                return None  # a non-null variable not given
        one = _input_of(item)
        return None if one is None else [one]
    given = variables.get(plan.variable)
    if plan.root == "submitJob":
        one = _input_of(given)
        return None if one is None else [one]
    if not isinstance(given, list):
        return None  # missing, null, or one object GraphQL would wrap in a list
    out: list[submit.SubmitInput] = []
    for item in given:
        inp = _input_of(item)
        if inp is None:
            return None
        out.append(inp)
    return out


def _input_of(item: object) -> submit.SubmitInput | None:
    """One SubmitJobInput as strawberry coerces it, or None where it would coerce or refuse."""
    if type(item) is not dict or not item.keys() <= _INPUT_FIELDS:
        return None
    payload, token, metadata = item.get("payload"), item.get("clientToken"), item.get("metadata")
    if type(payload) is not str or not (token is None or type(token) is str):
        return None
    if metadata is not None and type(metadata) is not str:
        # AWSJSON's parse_value (types._parse_json) serialises a structured value.
        metadata = json.dumps(metadata, separators=(",", ":"))
    return submit.SubmitInput(payload=payload, client_token=token, metadata=metadata)


def answer(ports: Ports, plan: Plan, inputs: list[submit.SubmitInput]) -> dict[str, Any]:
    """The body strawberry would answer: the jobs with the selected fields, or the core's error."""
    one = plan.root == "submitJob"
    try:
        # submit_job names its field "input" in an error, as strawberry's call of it does
        jobs = [submit.submit_job(ports, inputs[0])] if one else submit.submit_jobs(ports, inputs)
    except Exception as exc:
        error = GraphQLError(str(exc), [plan.node], path=[plan.root], original_error=exc)
        log_unexpected([error])
        return {"data": None, "errors": [formatted(error)]}
    fields = plan.fields
    if one:
        return {"data": {plan.root: _selected(jobs[0], fields)}}
    if fields == ("jobId",):  # what a bulk client asks: nothing to shape
        return {"data": {plan.root: [{"jobId": job.job_id} for job in jobs]}}
    return {"data": {plan.root: [_selected(job, fields) for job in jobs]}}


def _selected(job: Job, fields: tuple[str, ...]) -> dict[str, Any]:
    shaped = shapes.job(job)
    shaped["__typename"] = "Job"
    return {name: shaped[name] for name in fields}
