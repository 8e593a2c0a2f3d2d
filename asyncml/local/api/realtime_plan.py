"""[8] subscription: what one AppSync `start` asks for: parsed, validated, and projected without GraphQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.language import ast

_CACHED_QUERY = 16 * 1024

# Field names to pick; a (name, selection, type name) triple for a field that holds objects.
Selection = tuple[str | tuple[str, "Selection", str], ...]


class PlanError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class Plan:
    """A validated subscription document. `selection` is set when every update can be answered by
    picking fields from its field dict (no fragments, aliases, directives or arguments below the
    root field): the fast path that skips GraphQL execution per update."""

    operation: OperationDefinitionNode
    root: FieldNode
    root_name: str  # onJobUpdated / onJobsMoved / onBatchUpdated
    field_def: GraphQLField
    type_name: str  # Job / JobsMoved / Batch, for __typename
    selection: Selection | None

    def filters(self, schema: GraphQLSchema, variables: dict[str, Any] | None) -> dict[str, Any]:
        """The root field's arguments, coerced: these are the subscription's filters."""
        coerced = get_variable_values(schema, self.operation.variable_definitions or (), variables or {})
        if isinstance(coerced, list):
            raise PlanError("ValidationError", "; ".join(e.message for e in coerced))
        try:
            return get_argument_values(self.field_def, self.root, coerced)
        except GraphQLError as exc:
            raise PlanError("ValidationError", exc.message) from exc

    def encoder(
        self, sub_id: str, frame_type: str = "data"
    ) -> Callable[[dict[str, Any], dict[Any, Any]], str]:
        """Build the `data` frame (graphql-transport-ws: `next`) for one update; the projected body is
        shared, through `memo`, by every subscription with the same selection (whatever its
        protocol), so a fan-out encodes each body once."""
        assert self.selection is not None
        head = f'{{"type":"{frame_type}","id":{json.dumps(sub_id)},"payload":{{"data":{{"{self.root_name}":'
        key = (self.root_name, self.selection)
        selection, type_name = self.selection, self.type_name

        def encode(fields: dict[str, Any], memo: dict[Any, Any]) -> str:
            body = memo.get(key)
            if body is None:
                body = memo[key] = json.dumps(_pick(fields, selection, type_name), separators=(",", ":"))
            return head + body + "}}}"

        return encode


def _pick(fields: dict[str, Any], selection: Selection, type_name: str) -> dict[str, Any]:
    picked: dict[str, Any] = {}
    for item in selection:
        if isinstance(item, tuple):  # a list of objects (JobsMoved.jobs): its own selection, per item
            name, inner, inner_type = item
            items = fields.get(name)
            picked[name] = None if items is None else [_pick(i, inner, inner_type) for i in items]
        else:
            picked[item] = type_name if item == "__typename" else fields[item]
    return picked


def make_planner(schema: GraphQLSchema) -> Callable[[str, str | None], Plan]:
    def plan(query: str, operation_name: str | None) -> Plan:
        # A subscription is a few hundred bytes; a megabyte-sized document is planned but not kept.
        return (cached if len(query) <= _CACHED_QUERY else uncached)(query, operation_name)

    def uncached(query: str, operation_name: str | None) -> Plan:
        try:
            document = parse(query)
        except GraphQLError as exc:
            raise PlanError("ValidationError", exc.message) from exc
        operation = _operation(document, operation_name)
        if operation.operation is not OperationType.SUBSCRIPTION:
            raise PlanError(
                "UnsupportedOperation",
                f"{operation.operation.value} operations are not supported through the realtime channel; "
                "send queries and mutations to POST /graphql",
            )
        errors = validate(schema, document)
        if errors:
            raise PlanError("ValidationError", "; ".join(e.message for e in errors))
        # Validation guarantees a subscription has exactly one root field.
        root = operation.selection_set.selections[0]
        assert isinstance(root, FieldNode) and schema.subscription_type is not None
        field_def = schema.subscription_type.fields[root.name.value]
        type_name = str(field_def.type).rstrip("!")
        return Plan(operation, root, root.name.value, field_def, type_name, _plain_selection(document, root))

    cached = lru_cache(maxsize=512)(uncached)
    return plan


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        ops = [o for o in ops if o.name and o.name.value == name]
        if not ops:
            raise PlanError("ValidationError", f"the document has no operation named {name!r}")
    elif len(ops) != 1:
        raise PlanError(
            "ValidationError", "the document must hold one operation or name one in operationName"
        )
    return ops[0]


def _plain_selection(document: DocumentNode, root: FieldNode) -> Selection | None:
    if root.alias or root.directives or root.selection_set is None:
        return None
    if any(isinstance(d, ast.FragmentDefinitionNode) for d in document.definitions):
        return None
    return _plain_fields(root.selection_set, nested=True)


def _plain_fields(selection_set: ast.SelectionSetNode, *, nested: bool) -> Selection | None:
    names: list[str | tuple[str, Selection, str]] = []
    seen: set[str] = set()
    for sel in selection_set.selections:
        if not isinstance(sel, FieldNode) or sel.alias or sel.arguments or sel.directives:
            return None
        name = sel.name.value
        if name in seen:  # a field selected twice is answered once, as GraphQL does
            if sel.selection_set:
                return None  # its two selections would have to be merged: leave that to GraphQL
            continue
        seen.add(name)
        if sel.selection_set:
            # One level of objects, and only JobsMoved.jobs (a list of Job) has one.
            if not nested or name != "jobs":
                return None
            inner = _plain_fields(sel.selection_set, nested=False)
            if inner is None:
                return None
            names.append((name, inner, "Job"))
        else:
            names.append(name)
    return tuple(names)
