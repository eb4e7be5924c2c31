"""Field metadata v1.1: visible_when / required_when, groups, placeholder, help and patterns in
the SDK's Field, in validation (both sides use validate_config), in load-time declaration
checks, on the wire of a real connector host, and a 1.0 declaration that has none of it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from host.apps import AppLoadError, AppStatus, load_apps, validate_declaration
from host.connector import Access, Condition, ConfigField, Connector, Field, FieldType
from host.protocol.fieldrules import (
    PATTERN_VALUE_LIMIT,
    PatternError,
    compile_pattern,
    declaration_problems,
    grouped,
    visible_keys,
)
from host.protocol.validation import validate_config

SOURCE = ConfigField(
    "source",
    "Source",
    FieldType.LIST,
    list_name="sources",
    default="api",
    access=Access.MANDATORY,
    rank=10,
)
FILE_PATH = ConfigField(
    "file_path",
    "File path",
    visible_when={"field": "source", "equals": "file"},
    required_when={"field": "source", "equals": "file"},
    pattern=r"/\S*",
    pattern_message="an absolute path such as /data/erp.csv",
    placeholder="/data/erp.csv",
    help="The CSV export the ERP writes.",
    group="Source",
    rank=20,
)
API_URL = ConfigField(
    "api_url",
    "API URL",
    visible_when={"field": "source", "in": ["api", "api2"]},
    access=Access.MANDATORY,
    group="Source",
    rank=30,
)
VERBOSE = ConfigField("verbose", "Verbose", FieldType.CHECKBOX, group="Advanced", rank=40)
LOG_FILE = ConfigField(
    "log_file",
    "Log file",
    visible_when={"field": "verbose", "equals": True},
    group="Advanced",
    rank=50,
)
FIELDS = [SOURCE, FILE_PATH, API_URL, VERBOSE, LOG_FILE]
LISTS = {"sources": ["api", "api2", "file"]}


# --- the SDK shape ---------------------------------------------------------------------------


def test_metadata_round_trips_through_to_dict_and_from_dict() -> None:
    for item in FIELDS:
        data = item.to_dict()
        assert Field.from_dict(data) == item
    data = FILE_PATH.to_dict()
    assert data["visible_when"] == {"field": "source", "equals": "file"}
    assert data["required_when"] == {"field": "source", "equals": "file"}
    assert API_URL.to_dict()["visible_when"] == {"field": "source", "in": ["api", "api2"]}
    assert data["pattern"] == r"/\S*" and data["pattern_message"].startswith("an absolute")
    assert (data["group"], data["placeholder"], data["help"]) == (
        "Source",
        "/data/erp.csv",
        "The CSV export the ERP writes.",
    )


def test_a_10_field_keeps_its_10_json_and_a_10_dict_means_10_behaviour() -> None:
    plain = ConfigField("server", "Server", access=Access.MANDATORY, max_length=10)
    assert set(plain.to_dict()) == {
        "key",
        "display_name",
        "description",
        "type",
        "access",
        "default",
        "max_length",
        "list_name",
        "rank",
    }
    old = Field.from_dict({"key": "server", "type": "text", "access": "mandatory"})
    assert old.visible_when is None and old.required_when is None
    assert (old.group, old.placeholder, old.help, old.pattern) == ("", "", "", "")
    report = validate_config([old], {"server": "anything at all"})
    assert report.ok and report.values() == {"server": "anything at all"}
    assert validate_config([old], {}).problems() == ["server: is mandatory"]


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ("source", "must be an object"),
        ({"equals": "x"}, "names no field"),
        ({"field": "s"}, "exactly one of equals or in"),
        ({"field": "s", "equals": 1, "in": [1]}, "exactly one of equals or in"),
        ({"field": "s", "in": []}, "non-empty list"),
        ({"field": "s", "equals": None}, "exactly one of equals or in"),
        ({"field": "s", "equals": [1]}, "compares with [1]"),
        ({"field": "s", "equal": "x"}, "unknown keys ['equal']"),
    ],
)
def test_a_malformed_condition_is_refused_saying_why(shape: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ConfigField("f", "F", visible_when=shape)


def test_conditions_compare_json_values_without_true_equal_to_one() -> None:
    on = Condition.from_dict({"field": "x", "equals": True})
    assert on.holds(True) and not on.holds(1) and not on.holds(None)
    one = Condition.from_dict({"field": "x", "equals": 1})
    assert one.holds(1) and one.holds(1.0) and not one.holds(True)
    assert Condition.from_dict({"field": "x", "in": ["a", "b"]}).holds("b")
    assert not Condition.from_dict({"field": "x", "in": ["a", "b"]}).holds("c")


def test_groups_keep_their_fields_together_in_rank_order() -> None:
    loose = ConfigField("z", "Z", rank=5)
    late = ConfigField("late", "Late", group="Source", rank=60)
    titles = [(title, [f.key for f in items]) for title, items in grouped([*FIELDS, loose, late])]
    assert titles == [
        ("", ["z", "source"]),
        ("Source", ["file_path", "api_url", "late"]),
        ("Advanced", ["verbose", "log_file"]),
    ]


# --- validation ------------------------------------------------------------------------------


def test_a_hidden_field_is_not_required_and_its_value_is_dropped() -> None:
    report = validate_config(
        FIELDS, {"source": "api", "api_url": "https://erp", "file_path": "relative"}, lists=LISTS
    )
    assert report.ok, report.problems()
    assert report.values() == {"source": "api", "api_url": "https://erp"}
    hidden = next(f for f in report.fields if f.key == "file_path")
    assert hidden.visible is False and hidden.errors == []
    assert hidden.to_dict()["visible"] is False


def test_required_when_makes_a_shown_field_mandatory() -> None:
    report = validate_config(FIELDS, {"source": "file"}, lists=LISTS)
    assert report.problems() == ["file_path: is mandatory"]
    assert next(f for f in report.fields if f.key == "api_url").visible is False
    report = validate_config(FIELDS, {"source": "file", "file_path": "/d/e.csv"}, lists=LISTS)
    assert report.ok and report.values() == {"source": "file", "file_path": "/d/e.csv"}


def test_a_pattern_is_checked_with_its_message_on_both_sides() -> None:
    for strict in (False, True):
        report = validate_config(
            FIELDS, {"source": "file", "file_path": "data.csv"}, lists=LISTS, strict=strict
        )
        assert report.problems() == ["file_path: an absolute path such as /data/erp.csv"]
    plain = ConfigField("code", "Code", pattern=r"[A-Z]{3}")
    assert validate_config([plain], {"code": "ABCD"}).problems() == [
        "code: does not match the pattern [A-Z]{3}"
    ]
    assert validate_config([plain], {"code": "ABC"}).ok
    assert validate_config([plain], {"code": ""}).ok  # empty: nothing to match


def test_a_condition_on_a_hidden_field_does_not_hold() -> None:
    values = {"verbose": False, "log_file": "/tmp/x"}
    assert "log_file" not in visible_keys(FIELDS, values)
    chained = ConfigField("level", "Level", visible_when={"field": "log_file", "equals": "/x"})
    shown = visible_keys([*FIELDS, chained], {"verbose": False, "log_file": "/x"})
    assert "level" not in shown
    shown = visible_keys([*FIELDS, chained], {"verbose": True, "log_file": "/x"})
    assert {"log_file", "level"} <= shown


def test_values_typed_on_the_command_line_meet_conditions() -> None:
    report = validate_config(FIELDS, {"source": "api", "api_url": "u", "verbose": "yes"})
    assert report.problems() == []
    assert next(f for f in report.fields if f.key == "log_file").visible is True


def test_long_values_are_not_run_through_a_pattern() -> None:
    item = ConfigField("code", "Code", pattern=r"[a-z]+")
    report = validate_config([item], {"code": "a" * (PATTERN_VALUE_LIMIT + 1)})
    assert report.problems() == [
        f"code: is {PATTERN_VALUE_LIMIT + 1} characters long; at most {PATTERN_VALUE_LIMIT} "
        "are checked against the field's pattern"
    ]


@pytest.mark.parametrize(
    "pattern", [r"(a+)+$", r"(a|a)*b", r"(a|ab)*c", r"(\w+\s?)*$", r"(x)\1", r"(.*a){12}"]
)
def test_catastrophic_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError, match="could take very long"):
        compile_pattern(pattern)


def test_a_refused_pattern_from_a_remote_connector_fails_the_field_fast() -> None:
    evil = Field.from_dict({"key": "code", "type": "text", "pattern": "(a+)+$"})
    started = time.process_time()
    report = validate_config([evil], {"code": "a" * 40 + "!"})
    assert time.process_time() - started < 5  # not exponential: the matcher never ran
    assert report.problems()[0].startswith("code: cannot be checked: the connector's pattern")


@pytest.mark.parametrize(
    "pattern", [r"[A-Z]{2}\d{4}", r"(\d{1,3}\.){3}\d{1,3}", r"(foo|bar)+", r"([a-z]++\.)+[a-z]+"]
)
def test_ordinary_patterns_compile(pattern: str) -> None:
    compile_pattern(pattern)


# --- declarations ----------------------------------------------------------------------------


def test_declaration_problems_name_each_mistake() -> None:
    problems = declaration_problems(
        [
            ConfigField("a", "A", visible_when={"field": "nope", "equals": "x"}),
            ConfigField("b", "B", visible_when={"field": "c", "equals": "x"}),
            ConfigField("c", "C", visible_when={"field": "b", "equals": "y"}),
            ConfigField("d", "D", required_when={"field": "d", "equals": "x"}),
            ConfigField("e", "E", FieldType.INTEGER, pattern=r"\d+"),
            ConfigField("f", "F", pattern="(", default="x"),
            ConfigField("g", "G", pattern=r"[a-z]+", default="ABC"),
            ConfigField("h", "H", FieldType.CHECKBOX),
            ConfigField("i", "I", required_when={"field": "h", "equals": "yes"}),
            ConfigField("pw", "Password", FieldType.PASSWORD),
            ConfigField("j", "J", visible_when={"field": "pw", "equals": "x"}),
            ConfigField("k", "K", pattern_message="no pattern"),
        ]
    )
    expected = [
        "field 'a': visible_when names 'nope', which is not a config field",
        "field 'd': required_when names the field itself",
        "field 'e': a pattern applies to text and password fields, not integer",
        "field 'f': pattern '(' is not a valid regular expression",
        "field 'g': default 'ABC' does not match its pattern '[a-z]+'",
        "field 'i': required_when compares 'h' with 'yes': expected true or false",
        "field 'j': visible_when names 'pw', a normal password field",
        "field 'k': pattern_message without a pattern",
        "visible_when conditions form a cycle: b -> c -> b",
    ]
    assert len(problems) == len(expected), problems
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert declaration_problems(FIELDS) == []


BAD_CONDITION_APP = """
    from host import ConfigField, Connector, Response, hookimpl


    class Conditional(Connector):
        id = "conditional"
        name = "Conditional"
        vendor = "Tests"
        version = "1.0.0"
        config_fields = [
            ConfigField("a", "A", visible_when={"field": "b", "equals": "x"}),
            ConfigField("b", "B", visible_when={"field": "a", "equals": "y"}),
            ConfigField("c", "C", pattern="[unclosed"),
            ConfigField("d", "D", required_when={"field": "gone", "equals": 1}),
        ]

        def test_config(self, config):
            return Response.success()


    @hookimpl
    def register_connectors(register):
        register(Conditional())
"""


def test_an_app_with_bad_conditions_or_patterns_is_refused_at_load(make_app: Any) -> None:
    make_app("conditional", BAD_CONDITION_APP)
    record = load_apps().app("conditional")
    assert record is not None and record.status == AppStatus.BROKEN
    assert record.error is not None
    for part in (
        "visible_when conditions form a cycle: a -> b -> a",
        "field 'c': pattern '[unclosed' is not a valid regular expression",
        "field 'd': required_when names 'gone', which is not a config field",
    ):
        assert part in record.error, record.error


def test_a_malformed_condition_in_an_app_fails_its_import_with_the_reason(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = BAD_CONDITION_APP.replace('{"field": "gone", "equals": 1}', '{"field": "gone"}')
    make_app("conditional", source)
    monkeypatch.setenv("ERPSYNC_RAISE_APP_ERRORS", "1")
    with pytest.raises(AppLoadError, match="exactly one of equals or in"):
        load_apps()


def test_the_bundled_apps_declare_valid_metadata() -> None:
    from erpsync_example_csv.connector import CsvErpConnector
    from erpsync_mock_erp import MockErpConnector

    for connector in (MockErpConnector(), CsvErpConnector()):
        assert isinstance(connector, Connector)
        assert validate_declaration(connector) == []


# --- on the wire: a real connector host and the client ------------------------------------


class Conditional(Connector):
    """Answers its config test with the keys it was given, so a test sees what arrived."""

    id = "conditional"
    name = "Conditional"
    vendor = "Tests"
    version = "1.1.0"
    requires_protocol = "1.1"
    config_fields = FIELDS

    def get_list(self, connection: Any, list_name: str) -> dict[str, str]:
        return {key: key.upper() for key in LISTS["sources"]}

    def test_config(self, config: Any) -> Any:
        from host import Response

        return Response.success("got " + ",".join(sorted(config)))


def test_the_connector_host_serves_metadata_and_checks_values_by_it() -> None:
    import asyncio

    import httpx

    from host.client import ConnectorClient
    from host.server import create_app
    from host.server.run import Server

    with Server(create_app({"conditional": Conditional()}, token=None)) as server:
        url = f"http://127.0.0.1:{server.port}/connectors/conditional"
        raw = httpx.get(url + "/v1/config-fields").json()["data"]
        assert raw[2]["visible_when"] == {"field": "source", "in": ["api", "api2"]}
        assert raw[0]["visible_when"] is None and raw[0]["pattern"] == ""  # the defaults

        async def go() -> tuple[list[Field], Any, Any, Any]:
            async with ConnectorClient(url) as client:
                fields = await client.config_fields()
                hidden = await client.test_config(
                    {"source": "api", "api_url": "u", "file_path": "/x", "log_file": "/l"}
                )
                missing = await client.test_config({"source": "file"})
                bad = await client.test_config({"source": "file", "file_path": "rel"})
                return fields, hidden, missing, bad

        fields, hidden, missing, bad = asyncio.run(go())
    assert fields == FIELDS
    assert hidden.ok and hidden.user_explanation == "got api_url,source"
    assert missing.error_code == "invalid_config"
    assert "file_path: is mandatory" in missing.user_explanation
    assert "file_path: an absolute path such as /data/erp.csv" in bad.user_explanation


def test_the_client_refuses_a_malformed_condition_as_a_shape_error() -> None:
    import asyncio

    from host.client import ConnectorClient
    from host.failures import ProtocolError
    from host.server import create_app
    from host.server.run import Server

    class Broken(Conditional):
        id = "broken"

        def get_config_fields(self) -> list[Field]:
            return [SOURCE]

    app = create_app({"broken": Broken()}, token=None)

    @app.middleware("http")
    async def garble(request: Any, call_next: Any) -> Any:  # the answer a bad peer sends
        from starlette.responses import JSONResponse

        if request.url.path.endswith("/config-fields"):
            item = {**SOURCE.to_dict(), "visible_when": {"field": "x", "equal": "y"}}
            body = {"ok": True, "state": "ok", "user_explanation": "", "tech_explanation": ""}
            return JSONResponse({**body, "error_code": "", "data": [item]})
        return await call_next(request)

    with Server(app) as server:
        url = f"http://127.0.0.1:{server.port}/connectors/broken"

        async def go() -> None:
            async with ConnectorClient(url) as client:
                await client.config_fields()

        with pytest.raises(ProtocolError, match="unknown keys"):
            asyncio.run(go())


# --- the bundled apps use them ---------------------------------------------------------------


def test_the_example_app_checks_its_encoding_name_by_pattern() -> None:
    from erpsync_example_csv.connector import CsvErpConnector

    fields = CsvErpConnector().get_config_fields()
    groups = [(title, [f.key for f in items]) for title, items in grouped(fields)]
    assert groups == [
        ("", ["directory"]),
        ("File format", ["delimiter", "decimal_separator", "encoding"]),
        ("", ["expected_files"]),
    ]
    report = validate_config(fields, {"directory": "/x", "encoding": "utf 8"})
    assert report.problems() == ["encoding: an encoding name such as utf-8, cp1252 or latin-1"]
    assert validate_config(fields, {"directory": "/x", "encoding": "cp1252"}).ok


def test_the_mock_shows_and_uses_its_reason_only_while_read_only() -> None:
    from helpers import MOCK_CONFIG

    from erpsync_mock_erp import MockErpConnector
    from host.connector import Actor, Connection, ConnectorError

    connector = MockErpConnector(customers=3)
    fields = connector.get_config_fields()
    reason = "Month-end closing: ask finance"
    off = validate_config(fields, {**MOCK_CONFIG, "read_only_reason": reason})
    assert off.ok and "read_only_reason" not in off.values()
    on = validate_config(fields, {**MOCK_CONFIG, "read_only": True, "read_only_reason": reason})
    assert on.ok and on.values()["read_only_reason"] == reason
    with pytest.raises(ConnectorError) as refused:
        connector.create_actor(
            Connection("g", on.values()), Actor("customer", field_values={"name": "x"})
        )
    assert refused.value.response.user_explanation.endswith(reason)
    spaced = validate_config(fields, {**MOCK_CONFIG, "server": "two words"})
    assert spaced.problems() == ["server: a host name or file path, without spaces"]
