"""[8] subscription (local API): what one GraphQL document may cost: depth, aliases, inputs and items.

A per-call limit means little if one document can repeat the call under aliases: 5,000 aliased
`submitJob`s, or 20 aliased `listJobs(limit: 1000)`. So the sums over the whole document are bounded
too, before anything runs (nothing stored, nothing read)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.language.ast import ValueNode
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension

from asyncml.queries import DEFAULT_LIMIT, MAX_LIMIT

# Deepest document the schema needs is 3 (listJobs > items > jobId); introspection is not counted.
MAX_DEPTH = 6
MAX_ALIASES = 10
MAX_ITEMS_PER_DOCUMENT = MAX_LIMIT  # as much as one listJobs may return
LARGE_ANSWER_ITEMS = 100  # past this many list items the answer is encoded off the event loop
_LISTS = ("listJobs", "listBatches")


def _root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            yield sel
        elif isinstance(sel, InlineFragmentNode):
            yield from _root_fields(sel.selection_set, fragments)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value in fragments:
            yield from _root_fields(fragments[sel.name.value].selection_set, fragments)


def _value(node: ValueNode | None, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, ListValueNode):
        return node.values
    return node


def _argument(field: FieldNode, name: str) -> ValueNode | None:
    return next((a.value for a in field.arguments or () if a.name.value == name), None)


def document_cost(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> tuple[int, int, int]:
    """(submit fields, inputs submitted, list items asked for) by the operation's root fields,
    aliases included."""
    submits = inputs = items = 0
    for field in _root_fields(operation.selection_set, fragments):
        name = field.name.value
        submits += name in ("submitJob", "submitJobs")
        if name == "submitJob":
            inputs += 1
        elif name == "submitJobs":
            given = _value(_argument(field, "inputs"), variables)
            inputs += len(given) if isinstance(given, list | tuple) else 1
        elif name in _LISTS:
            node = _argument(field, "limit")
            limit = DEFAULT_LIMIT if node is None else _value(node, variables)
            items += limit if isinstance(limit, int) and limit > 0 else 0
    return submits, inputs, items


class DocumentBudget(SchemaExtension):
    """Refuses a document whose inputs or list items, summed over its aliases, pass the limits."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        definitions = ctx.graphql_document.definitions if ctx.graphql_document else ()
        max_inputs = ctx.context.ports.settings.max_inputs_per_call
        operation = _operation(definitions, ctx.operation_name)
        if operation is not None:
            fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
            submits, inputs, items = document_cost(operation, fragments, ctx.variables or {})
            error = None
            if inputs > max_inputs and submits > 1:  # one field alone gets the core's own message
                error = _refusal(
                    f"inputs: this document submits {inputs} inputs in all (summed over its submitJob and "
                    f"submitJobs fields); the limit is {max_inputs} per document",
                    "inputs",
                )
            elif items > MAX_ITEMS_PER_DOCUMENT:
                error = _refusal(
                    f"limit: this document asks for {items} items in all (the limits of its listJobs and "
                    f"listBatches fields, summed); the limit is {MAX_ITEMS_PER_DOCUMENT} per document",
                    "limit",
                )
            ctx.context.large_answer = items > LARGE_ANSWER_ITEMS
            if error is not None:
                ctx.result = ExecutionResult(data=None, errors=[error])
        yield


def _operation(definitions: Any, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        ops = [o for o in ops if o.name and o.name.value == name]
    return ops[0] if len(ops) == 1 else None


def _refusal(message: str, field: str) -> GraphQLError:
    return GraphQLError(message, extensions={"errorType": "ValidationError", "field": field})


# strawberry's limiters make a new rule class per instance; ValidationCache keys on the rule classes,
# so they are made once here, and every request's extension reuses them (cache hits stay hits).
_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


def extensions() -> list[Any]:
    return [lambda: AddValidationRules(_RULES), DocumentBudget]
