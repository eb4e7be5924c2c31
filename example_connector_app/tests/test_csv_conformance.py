"""The erpsync conformance suite against the installed app, one pytest test per check.

`ConformanceSuite` comes with erpsync-host's pytest plugin: it serves the app on a loopback
port and runs every check of `erpsync apps check`. The connector is read-only, so the create
and save checks are skipped with the reason (it answers not_supported), not failed; so are
the wrong-password check (it has no password) and advanced search (it does not offer it).
"""

from __future__ import annotations

from csv_support import SAMPLE_DIR
from host.pytest_plugin import ConformanceSuite


class TestConformance(ConformanceSuite):
    connector_id = "example-csv"
    config = {"directory": str(SAMPLE_DIR)}
    write = True  # asks for the write checks: a read-only connector skips them with a reason
