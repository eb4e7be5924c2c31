"""Test helpers that are not fixtures: a real mock server launcher, fake installed apps,
a purpose-built loopback HTTP server, and CLI assertions."""

from __future__ import annotations

MOCK_USERNAME = "demo"
MOCK_PASSWORD = "mock-erp-secret"
MOCK_CONFIG = {
    "server": "erp.mock.local",
    "username": MOCK_USERNAME,
    "password": MOCK_PASSWORD,
    "company": 1,
}
"""A config the bundled mock ERP accepts (the documented demo login)."""
