"""A connector with switchable, realistic defects, to keep the conformance suite honest.

Each defect is a bug a real connector has had or could have. Some live in the connector's
Python code (a subclass of the mock ERP); the others on the wire, where a connector written
in another language makes them: an ASGI layer in front of the connector host rewrites
requests and answers (skips the token check, answers errors with 200, redirects, leaks
passwords ...). `DEFECTS` maps each defect to the check that must catch it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from erpsync_mock_erp import MockErpConnector
from host import ConnectorError, NotSupported
from host.connector import Actor, Connection, Page, Restriction
from host.server import create_app

DEFECTS: dict[str, tuple[str, str]] = {
    # auth
    "no_auth": ("auth.missing_token", "serves without checking the token"),
    "any_token": ("auth.wrong_token", "accepts any bearer token"),
    # secrets
    "echo_password_test": ("secrets.canary", "config test explains with the password"),
    "password_in_list": ("secrets.canary", "list texts carry the last password seen"),
    "password_in_info": ("secrets.canary", "info's description carries the last password"),
    # invalid config
    "config_no_mandatory": ("config.invalid_test", "config test takes blank mandatory fields"),
    "config_loose_types": ("config.invalid_test", "config test takes strings for numbers"),
    "config_no_max_length": ("config.invalid_test", "config test takes over-long text"),
    "config_no_list_check": ("config.invalid_test", "config test takes values not in the list"),
    "save_no_validation": ("config.invalid_save", "save connection takes any values"),
    "invalid_config_200": ("config.invalid_test", "invalid config answered with HTTP 200"),
    # errors on a saved connection
    "errors_200": ("errors.saved_connection", "every error answered with HTTP 200"),
    "limit_zero_ok": ("errors.saved_connection", "limit=0 is taken as 1"),
    "limit_over_max_ok": ("errors.saved_connection", "a limit over the max is clamped"),
    "unknown_list_empty": ("errors.saved_connection", "an unknown list answers no items"),
    "stack_trace": ("errors.saved_connection", "a stack trace in tech_explanation"),
    "actor_type_code": ("errors.saved_connection", "an unknown actor type answers `error`"),
    "bad_cursor_code": ("errors.saved_connection", "a bad cursor answers `bad_cursor`"),
    "get_phantom": ("get.unknown_keys", "get answers a placeholder for unknown keys"),
    # value types on read paths
    "int_as_text_get": ("values.types", "get answers CustNo as text"),
    "double_as_text_search": ("values.types", "search answers CREDITLIMIT as text"),
    "bool_as_int_changes": ("values.types", "changed since answers ACTIVE as 1/0"),
    # search
    "blank_search_empty": ("search.blank", "a blank search finds nothing"),
    "case_sensitive": ("search.operators", "text `=` is case-sensitive"),
    "between_exclusive": ("search.operators", "`between` leaves out its ends"),
    "negations_ignored": ("search.operators", "notcontains, isnot ... filter nothing"),
    "search_silent_cap": ("search.paging", "a search cut at its limit, without next_cursor"),
    "search_limit_ignored": ("search.paging", "a search ignores its limit"),
    "searchable_without_advanced": ("capabilities.honoured", "searchable, then not_supported"),
    # lists
    "duplicate_list_keys": ("lists.unique_keys", "a list repeats an item key"),
    "list_keys_ignored": ("lists.keys", "?keys= answers the whole list"),
    # capabilities and stamps
    "no_capabilities": ("capabilities.declared", "speaks 1.1 but declares no capabilities"),
    "page_size_lie": ("capabilities.page_size", "declares max 50, takes 51"),
    "unpadded_stamps": ("stamps.format", "counters not zero-padded: '9' sorts after '10'"),
    # changes
    "changes_all_fields": ("changed_since.field_keys", "changed since ignores fields"),
    "changes_skip_one": ("changed_since.order", "a page boundary skips an actor"),
    # routes and connections
    "trailing_slash_redirect": ("errors.routes", "a trailing slash answers a 307"),
    "wrong_method_text": ("errors.routes", "a wrong method answers plain text"),
    "delete_unknown_404": ("connection.delete_idempotent", "deleting an unknown GUID is 404"),
    "delete_forgets_nothing": ("connection.lifecycle", "delete answers ok, keeps the GUID"),
    # writing
    "conflict_ignored": ("write.conflict", "save ignores check_last_modified"),
}


class DefectiveConnector(MockErpConnector):
    """The mock ERP with the Python-side defects of `defects` switched on."""

    id = "defective"

    def __init__(self, defects: Iterable[str]) -> None:
        super().__init__(customers=30, seed=7)
        self.defects = frozenset(defects)

    def get_list(self, connection: Connection, list_name: str) -> dict[str, str]:
        try:
            return super().get_list(connection, list_name)
        except Exception:
            if "unknown_list_empty" in self.defects:
                return {}
            if "stack_trace" in self.defects:
                trace = (
                    'Traceback (most recent call last):\n  File "erp.py", line 12, in lists\n'
                    "KeyError: list"
                )
                raise ConnectorError("No such list.", trace, "unknown_list") from None
            raise

    def get_list_items(
        self, connection: Connection, list_name: str, keys: list[str]
    ) -> dict[str, str]:
        if "list_keys_ignored" in self.defects:
            return self.get_list(connection, list_name)
        return super().get_list_items(connection, list_name, keys)

    def actor_fields(self, connection: Connection, actor_type: str) -> Any:
        if "actor_type_code" in self.defects and actor_type == "employee":
            raise ConnectorError("No such type.", "", "error")
        return super().actor_fields(connection, actor_type)

    def get_actors(
        self, connection: Connection, actor_type: str, erp_keys: list[str], field_keys: list[str]
    ) -> list[Actor]:
        found = super().get_actors(connection, actor_type, erp_keys, field_keys)
        if "get_phantom" in self.defects:
            known = {a.erp_key for a in found}
            found += [Actor(actor_type, k, "00000000000001") for k in erp_keys if k not in known]
        if "int_as_text_get" in self.defects:
            found = [_retype(a, "CustNo", str) for a in found]
        return found

    def search_actors(
        self, connection: Connection, actor_type: str, text: str, field_keys: list[str]
    ) -> list[Actor]:
        if "blank_search_empty" in self.defects and not text.strip():
            return []
        found = super().search_actors(connection, actor_type, text, field_keys)
        if "double_as_text_search" in self.defects:
            found = [_retype(a, "CREDITLIMIT", str) for a in found]
        return found

    def search_advanced(
        self,
        connection: Connection,
        actor_type: str,
        restrictions: list[Restriction],
        field_keys: list[str],
    ) -> list[Actor]:
        if "searchable_without_advanced" in self.defects:
            raise NotSupported("search_advanced")
        kept = list(restrictions)
        if "negations_ignored" in self.defects:
            kept = [r for r in kept if not r.operator.startswith(("not", "isnot", "!="))]
        found = super().search_advanced(connection, actor_type, kept, field_keys)
        for r in restrictions:
            if "case_sensitive" in self.defects and r.operator == "=":
                found = [a for a in found if a.field_values.get(r.field_key) == r.values[0]]
            if "between_exclusive" in self.defects and r.operator == "between":
                found = [a for a in found if a.field_values.get(r.field_key) not in r.values]
        return found

    def changed_since(
        self,
        connection: Connection,
        actor_type: str,
        since: str,
        field_keys: list[str],
        cursor: str,
        limit: int,
    ) -> Page:
        keys = [] if "changes_all_fields" in self.defects else field_keys
        try:
            page = super().changed_since(connection, actor_type, since, keys, cursor, limit)
        except ConnectorError as exc:
            if "bad_cursor_code" in self.defects and exc.response.error_code == "invalid_cursor":
                raise ConnectorError("Bad cursor.", "", "bad_cursor") from None
            raise
        actors = page.actors
        if "changes_skip_one" in self.defects and cursor and actors:
            actors = actors[1:]
        if "bool_as_int_changes" in self.defects:
            actors = [_retype(a, "ACTIVE", int) for a in actors]
        if "unpadded_stamps" in self.defects:
            actors = [replace(a, last_modified=a.last_modified.lstrip("0") or "0") for a in actors]
        return Page(actors, page.cursor)


def _retype(actor: Actor, key: str, kind: Callable[[Any], Any]) -> Actor:
    values = dict(actor.field_values)
    if values.get(key) is not None:
        values[key] = kind(values[key])
    return replace(actor, field_values=values)


# --- the wire ---------------------------------------------------------------------------------

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class Wire:
    """ASGI layer making the wire-side defects: it sees every request and answer as bytes."""

    def __init__(self, app: Any, defects: Iterable[str], token: str) -> None:
        self.app = app
        self.defects = frozenset(defects)
        self.token = token
        self.last_password = ""

    def on(self, name: str) -> bool:
        return name in self.defects

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        scope = dict(scope)
        headers = [(k, v) for k, v in scope["headers"]]
        path, method = scope["path"], scope["method"]
        query = scope["query_string"].decode()
        parsed = _json(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("config"), dict):
            password = parsed["config"].get("password")
            if isinstance(password, str) and password:
                self.last_password = password
        if self.on("any_token"):
            headers = [(k, v) for k, v in headers if k != b"authorization"]
            headers.append((b"authorization", f"Bearer {self.token}".encode()))
        if self.on("trailing_slash_redirect") and path.endswith("/"):
            await _send(send, (307, [(b"location", path.rstrip("/").encode())], b""))
            return
        if "/lists/" in path and self.on("hang_on_lists"):
            await asyncio.sleep(30)
        if path.endswith("/changes"):
            if self.on("limit_zero_ok"):
                query = re.sub(r"(^|&)limit=0(&|$)", r"\1limit=1\2", query)
            if self.on("limit_over_max_ok") or self.on("page_size_lie"):
                query = re.sub(r"limit=(\d{4,}|5[1-9]|[6-9]\d)\b", _clamp, query)
        if path.endswith("/search") and isinstance(parsed, dict):
            if self.on("search_limit_ignored"):
                parsed.pop("limit", None)
            body = json.dumps(parsed).encode()
        if path.endswith("/actors") and method == "PUT" and isinstance(parsed, dict):
            if self.on("conflict_ignored"):
                parsed.pop("check_last_modified", None)
            body = json.dumps(parsed).encode()
        if method == "DELETE" and "/connections/" in path and self.on("delete_forgets_nothing"):
            await _send(send, (200, _JSON, _envelope(True, "")))
            return
        scope["headers"] = [(k, v) for k, v in headers if k != b"content-length"] + [
            (b"content-length", str(len(body)).encode())
        ]
        scope["query_string"] = query.encode()
        status, out_headers, out = await self._forward(scope, body)
        status, out_headers, out = self.after(method, path, status, out_headers, out)
        await _send(send, (status, out_headers, out))

    async def _forward(self, scope: dict[str, Any], body: bytes) -> Answer:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status, headers, chunks = 500, [], []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, headers, b"".join(chunks)

    def after(self, method: str, path: str, status: int, headers: Any, out: bytes) -> Answer:
        body = _json(out)
        if not isinstance(body, dict):
            return status, headers, out
        code = body.get("error_code")
        if self.on("wrong_method_text") and status == 405:
            return 405, [(b"content-type", b"text/plain")], b"Method Not Allowed"
        if code == "invalid_config" and self._loose(path, body["user_explanation"]):
            body = json.loads(_envelope(True, "Looks fine."))
            status = 200
        if self.on("invalid_config_200") and code == "invalid_config":
            status = 200
        if self.on("errors_200") and body.get("ok") is False and status not in (401, 404):
            status = 200
        if (
            self.on("delete_unknown_404")
            and method == "DELETE"
            and "not held" in str(body.get("user_explanation"))
        ):
            body = json.loads(_envelope(False, "unknown_connection"))
            status = 404
        if self.on("echo_password_test") and path.endswith("/config/test"):
            body["tech_explanation"] = f"{body['tech_explanation']} (password {self.last_password})"
        if self.on("password_in_info") and path.endswith("/info") and self.last_password:
            body["data"]["description"] = f"last login {self.last_password}"
        if self.on("password_in_list") and "/lists/" in path and isinstance(body.get("data"), list):
            for item in body["data"]:
                item["text"] = f"{item['text']} {self.last_password}"
        if self.on("duplicate_list_keys") and "/lists/" in path and body.get("data"):
            body["data"].append(dict(body["data"][0]))
        if self.on("search_silent_cap") and body.get("next_cursor"):
            body.update(next_cursor="", state="ok", user_explanation="")
        if path.endswith("/info") and isinstance(body.get("data"), dict):
            caps = body["data"].get("capabilities") or {}
            if self.on("no_capabilities"):
                body["data"].pop("capabilities", None)
            if self.on("page_size_lie"):
                caps["page_size"] = {"default": 50, "max": 50}
        data = json.dumps(body).encode()
        headers = [(k, v) for k, v in headers if k != b"content-length"]
        return status, [*headers, (b"content-length", str(len(data)).encode())], data

    def _loose(self, path: str, explanation: str) -> bool:
        """The invalid_config answers a defect lets through as ok."""
        if self.on("save_no_validation") and "/connections/" in path:
            return True
        if not path.endswith("/config/test"):
            return False
        return (
            (self.on("config_no_mandatory") and "is mandatory" in explanation)
            or (self.on("config_loose_types") and "expected" in explanation)
            or (self.on("config_no_max_length") and "characters long" in explanation)
            or (self.on("config_no_list_check") and "is not in list" in explanation)
        )


_JSON = [(b"content-type", b"application/json")]


def _clamp(match: re.Match[str]) -> str:
    return "limit=50" if int(match.group(1)) < 1000 else "limit=1000"


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _envelope(ok: bool, code: str) -> bytes:
    return json.dumps(
        {
            "ok": ok,
            "state": "ok" if ok else "error",
            "user_explanation": "" if ok else "Unknown connection.",
            "tech_explanation": "",
            "error_code": code,
            "data": None,
        }
    ).encode()


async def _send(send: Any, answer: Answer) -> None:
    status, headers, body = answer
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def defective_app(defects: Iterable[str], token: str) -> Any:
    """The defective connector served as `defective`, behind the wire layer."""
    chosen = frozenset(defects)
    served_token = None if "no_auth" in chosen else token
    app = create_app({"defective": DefectiveConnector(chosen)}, token=served_token)
    return Wire(app, chosen, token)
