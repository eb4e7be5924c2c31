"""Test helpers that are not fixtures: a real mock server launcher, fake installed apps,
a purpose-built loopback HTTP server, and CLI assertions."""

from __future__ import annotations

from host.apps import mock_demo_login

MOCK_CONFIG = mock_demo_login()
"""A config the bundled mock ERP accepts: the demo login the app declares (DEMO_LOGIN)."""
MOCK_USERNAME = str(MOCK_CONFIG["username"])
MOCK_PASSWORD = str(MOCK_CONFIG["password"])
MOCK_SERVER = str(MOCK_CONFIG["server"])
