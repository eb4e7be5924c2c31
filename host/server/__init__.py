"""The connector host: serves each loaded connector over protocol v1 at /connectors/<id>/v1.

Rooms: `app` builds the ASGI app from the protocol's table of operations, `routes` holds what
each operation does, `calls` wraps one connector call (envelope, scrubbing, fast reply),
`shapes` checks what a connector returned, `store` keeps GUID -> config, and `run` serves an
app with uvicorn (imported only there).
"""

from host.server.app import create_app
from host.server.calls import EnvelopeError

__all__ = ["EnvelopeError", "create_app"]
