"""The web admin (`erpsync web`): Settings and administration → the Sync tab, in a browser.

Parses and renders only; anything that changes connectors or connections goes through the
admin core. `create_app` imports FastAPI and Jinja2, so the CLI imports this package only
inside the `web` command.
"""

from __future__ import annotations

from host.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
