"""Sync between the CRM store and ERP connections: settings, import, the engine, the queue.

No click and no web framework here: faces (host.cli) parse and render, this package decides.
"""

from __future__ import annotations


class SyncError(Exception):
    """An expected failure of a sync setting or run; the message is one line for the admin."""
