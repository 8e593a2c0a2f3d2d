"""[8] subscription: the local strawberry schema serves exactly schema.graphql (the AppSync SDL)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import (
    GraphQLSchema,
    ObjectTypeDefinitionNode,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    parse,
    print_ast,
)

from asyncml.local.api.schema import schema as local_schema

ROOT = Path(__file__).resolve().parents[1]

# What AppSync predefines and schema.graphql therefore must not declare.
PRELUDE = """
scalar AWSDate
scalar AWSTime
scalar AWSDateTime
scalar AWSTimestamp
scalar AWSEmail
scalar AWSJSON
scalar AWSURL
scalar AWSPhone
scalar AWSIPAddress
directive @aws_api_key on FIELD_DEFINITION | OBJECT
directive @aws_iam on FIELD_DEFINITION | OBJECT
directive @aws_cognito_user_pools(cognito_groups: [String]) on FIELD_DEFINITION | OBJECT
directive @aws_oidc on FIELD_DEFINITION | OBJECT
directive @aws_lambda on FIELD_DEFINITION | OBJECT
directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION
"""
_PREDEFINED = re.compile(r"^(scalar AWS\w+|directive @aws_\w+.*)$", re.MULTILINE)


def _build(sdl: str) -> GraphQLSchema:
    return build_schema(PRELUDE + _PREDEFINED.sub("", sdl))


@pytest.fixture(scope="module")
def appsync() -> GraphQLSchema:
    return _build((ROOT / "schema.graphql").read_text())


@pytest.fixture(scope="module")
def local() -> GraphQLSchema:
    return _build(str(local_schema))


def test_schema_graphql_declares_none_of_appsyncs_predefined_names() -> None:
    assert not _PREDEFINED.findall((ROOT / "schema.graphql").read_text())


@pytest.mark.parametrize("direction", ["appsync->local", "local->appsync"])
def test_local_schema_has_no_breaking_or_dangerous_change(
    appsync: GraphQLSchema, local: GraphQLSchema, direction: str
) -> None:
    old, new = (appsync, local) if direction == "appsync->local" else (local, appsync)
    assert [c.description for c in find_breaking_changes(old, new)] == []
    assert [c.description for c in find_dangerous_changes(old, new)] == []


def _directives(sdl: str) -> dict[str, list[str]]:
    """Every type's and field's AppSync directives, printed: what neither diff function compares."""
    found: dict[str, list[str]] = {}
    for node in parse(_PREDEFINED.sub("", sdl)).definitions:
        if isinstance(node, ObjectTypeDefinitionNode):
            found[node.name.value] = sorted(print_ast(d) for d in node.directives or ())
            for f in node.fields or ():
                found[f"{node.name.value}.{f.name.value}"] = sorted(print_ast(d) for d in f.directives or ())
    return found


def test_auth_and_subscribe_directives_are_the_same_as_appsyncs() -> None:
    local = _directives(str(local_schema))
    appsync = _directives((ROOT / "schema.graphql").read_text())
    assert local == appsync
    assert local["Mutation.publishJobUpdate"] == ["@aws_iam"]
    assert local["Subscription.onJobUpdated"] == ['@aws_subscribe(mutations: ["publishJobUpdate"])']
