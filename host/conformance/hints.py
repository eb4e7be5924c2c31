"""What to tell a partner whose connector URL is wrong: the commonest slips are pasting the
URL with the protocol's `/v1` on the end, or the host's root instead of a connector's base."""

from __future__ import annotations

from urllib.parse import urlsplit

BASE_EXAMPLE = "http://HOST:PORT/connectors/<connector id>"


def base_url_hint(url: str, error: str = "") -> str:
    """A sentence to add to an error about `url` ('' when nothing looks wrong with it)."""
    if url.startswith("app:"):
        return ""
    path = urlsplit(url).path.rstrip("/")
    if path.endswith("/v1") or ("/v1/" in path + "/" and path.rsplit("/v1", 1)[1] == ""):
        base = url.rstrip("/").removesuffix("/v1")
        return f"hint: give the connector's base URL without /v1 (the protocol adds it): {base}"
    if "/v1/" in path + "/":
        return "hint: give the connector's base URL, without /v1 and what follows it"
    looks_missing = any(
        word in error for word in ("not a protocol envelope", "without a JSON body", "not_found")
    )
    if looks_missing or "404" in error:
        return (
            "hint: the URL answers, but not as a connector base URL; `erpsync serve` serves "
            f"each connector at {BASE_EXAMPLE}"
        )
    return ""
