"""The committed OpenAPI document of protocol v1: `python -m host.server.openapi > FILE`.

Generated from the served app (with no connector loaded: paths are templated by connector id),
so the document and the code cannot drift without a test noticing.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def openapi_document() -> dict[str, Any]:
    from host.server import create_app

    document: dict[str, Any] = create_app({}, token="unused").openapi()
    return document


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
