"""Tests never ask the system resolver for a public name (issue 14, item 12): the conftest guard refuses it."""

from __future__ import annotations

import socket

import pytest


@pytest.mark.parametrize(
    "lookup",
    [
        lambda: socket.getaddrinfo("api.openai.com", 443),
        lambda: socket.gethostbyname("example.com"),
        lambda: socket.gethostbyname_ex("huggingface.co"),
        lambda: socket.gethostbyaddr("203.0.113.1"),  # a reverse look-up asks a name server too
        lambda: socket.create_connection(("api.openai.com", 443), timeout=1),  # resolves before connecting
    ],
)
def test_a_name_lookup_is_refused_before_it_reaches_a_name_server(lookup, no_name_lookups):
    with pytest.raises(socket.gaierror, match="tests may not look up"):
        lookup()
    assert len(no_name_lookups) == 1  # and recorded, so the test fails even if the code swallowed the error
    no_name_lookups.clear()


def test_loopback_and_address_literals_resolve_without_a_name_server(no_name_lookups):
    for host in ("localhost", "127.0.0.1", "::1", "203.0.113.1", None):
        assert socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM)
    assert socket.gethostbyname("localhost").startswith("127.")
    assert no_name_lookups == []
