"""The Source Protocol is what the core is typed against; the source connection implements all of it."""

from __future__ import annotations

import inspect

from gateway.source.connection import SourceConnection
from gateway.source.embedded import embedded_source
from gateway.source.protocol import Source


def protocol_methods() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(Source).items()
        if callable(member) and not name.startswith("_")
    }


def test_the_connection_implements_every_method_with_the_same_parameters():
    methods = protocol_methods()
    assert {"query", "query_more", "create", "composite_request"} <= set(methods)
    for name, signature in methods.items():
        implementation = inspect.signature(getattr(SourceConnection, name))
        assert list(implementation.parameters) == list(signature.parameters), name
    assert isinstance(SourceConnection.__dict__["api_calls"], property)


def test_an_in_process_connection_is_a_source():
    source, _ = embedded_source(3)
    assert isinstance(source, Source)
    assert source.query("SELECT COUNT() FROM Account")["totalSize"] == 3
