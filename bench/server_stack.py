"""The connector host as `erpsync serve` runs it, plus one bare endpoint on the same stack.

`host.cli.serve.run_server` (the code behind `erpsync serve` and `erpsync mock-server`) serves
the bundled mock ERP connector with N customers; its `wrap` hook adds `GET /bench/bare` to the
same FastAPI app: an endpoint that only returns constant bytes, exactly the body of the first
changed-since page of 100 customers, so both endpoints send the same number of bytes through
the same FastAPI + uvicorn stack.

    python bench/server_stack.py --port 8765 --customers 100000 --token-file tok
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from fixtures import DEMO_CONFIG

from erpsync_mock_erp import MockErpConnector
from host.cli.serve import resolve_token, run_server
from host.connector import Connection


def first_page_body(connector: MockErpConnector, limit: int) -> bytes:
    """The JSON body the host answers for the first page: the same envelope, the same data."""
    connection = Connection("00000000-0000-0000-0000-00000000b0d1", DEMO_CONFIG)
    page = connector.changed_since(connection, "customer", "", [], "", limit)
    envelope: dict[str, Any] = {
        "ok": True,
        "state": "ok",
        "user_explanation": "",
        "tech_explanation": "",
        "error_code": "",
        "data": {"actors": [a.to_dict() for a in page.actors], "cursor": page.cursor},
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()
    connector = MockErpConnector(customers=args.customers)
    body = first_page_body(connector, args.limit)  # also generates company 1 before serving

    def add_bare(app: Any) -> Any:
        from fastapi import Response

        @app.get("/bench/bare", include_in_schema=False)
        async def bare() -> Response:
            return Response(content=body, media_type="application/json")

        return app

    token = resolve_token(None, args.token_file, False, "127.0.0.1")
    run_server({connector.id: connector}, "127.0.0.1", args.port, token, "warning", wrap=add_bare)


if __name__ == "__main__":
    main()
