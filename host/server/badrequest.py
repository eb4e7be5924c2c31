"""A request uvicorn cannot even parse (raw non-UTF-8 bytes in the path, a broken request
line) still gets an error envelope: uvicorn's plain-text 400 is replaced by the protocol's
JSON `invalid_request` answer, so every answer a client sees is documented."""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

BODY = json.dumps(
    {
        "ok": False,
        "state": "error",
        "user_explanation": "The request could not be read.",
        "tech_explanation": "not a valid HTTP/1.1 request (e.g. raw non-UTF-8 bytes in the path; "
        "percent-encode them)",
        "error_code": "invalid_request",
        "data": None,
    },
    separators=(",", ":"),
).encode()


class EnvelopeHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol, answering unparseable requests with a JSON envelope."""

    transport: Any

    def send_400_response(self, msg: str) -> None:
        head = (
            b"HTTP/1.1 400 Bad Request\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(BODY)).encode() + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.write(head + BODY)
        self.transport.close()
