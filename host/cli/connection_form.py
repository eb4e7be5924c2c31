"""The terminal form of `connections add/edit`: what is typed is kept until it is saved.

A bad value is asked again at once; a failed check or connector test shows why and offers
to change one value and test again, instead of throwing everything typed away. Prompts go to
stderr and run outside the event loop, so the first Ctrl-C ends the command at once, cleanly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click

from host.admin.errors import TestFailed
from host.cli.common import emit_json, print_table, run_async
from host.cli.errors import EXIT_ABORTED, EXIT_CONNECTOR_REFUSED, CliError, safe

if TYPE_CHECKING:
    from host.admin.forms import ConfigCheck, Form
    from host.connector import Field
    from host.protocol.validation import ValidationReport
    from host.registry import Registry

Lists = dict[str, dict[str, str]]


@contextmanager
def aborting() -> Iterator[None]:
    """Ctrl-C (or end of input) at a prompt: "Aborted!", exit 130, nothing saved, no trace."""
    try:
        yield
    except (click.Abort, KeyboardInterrupt, EOFError):
        click.echo("\nAborted!", err=True)
        raise click.exceptions.Exit(EXIT_ABORTED) from None


class _Choice(click.Choice):
    """A choice among connector keys: a wrong answer's message is escaped and cut."""

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        return safe(super().get_invalid_choice_message(value, ctx), 1000)


def _ask(label: str, default: Any = None, **kwargs: Any) -> Any:
    """A prompt on stderr whose default (a connector's or a stored value) is shown escaped."""
    if default is not None and default != "":
        label = f"{label} [{safe(default)}]"
    return click.prompt(label, default=default, show_default=False, err=True, **kwargs)


def _label(item: Field) -> str:
    """A prompt names the field by the connector's label and key, escaped and cut."""
    return f"{safe(item.display_name)} ({safe(item.key)})"


def show_text(item: Field) -> None:
    """A label field is text of the form (a hint, a heading): shown, never asked."""
    text = safe(item.display_name) + (
        f": {safe(item.description, 500)}" if item.description else ""
    )
    click.echo(text, err=True)


def field_errors(item: Field, value: Any, lists: Lists) -> list[str]:
    """What is wrong with one typed value, checked as the whole form will be (its type,
    length, pattern and list; whether it is shown or mandatory is the caller's)."""
    from dataclasses import replace

    from host.protocol.validation import validate_config

    alone = replace(item, visible_when=None, required_when=None)
    report = validate_config([alone], {item.key: value}, lists=lists)
    return [error for f in report.fields for error in f.errors]


def ask_field(
    item: Field,
    values: dict[str, Any],
    lists: Lists,
    stored: Any = None,
    *,
    mandatory: bool | None = None,
) -> None:
    """Ask for one field until its value passes the local check; store it in `values`.

    With a stored value (editing) it is the default, and an empty password answer keeps it.
    `mandatory` None means as declared (a required_when that holds makes it True).
    """
    from host.connector import Access, FieldType
    from host.protocol.values import default_value

    if mandatory is None:
        mandatory = item.access is Access.MANDATORY
    if item.description:
        click.echo(f"{safe(item.display_name)}: {safe(item.description, 500)}", err=True)
    if item.help:
        click.echo(f"  {safe(item.help, 1000)}", err=True)
    if item.placeholder:
        click.echo(f"  for example: {safe(item.placeholder, 200)}", err=True)
    default = stored if stored is not None else default_value(item)
    label = _label(item)
    while True:
        if item.type is FieldType.PASSWORD:
            keeps = " (empty keeps the stored one)" if stored else ""
            answer: Any = click.prompt(
                label + keeps, hide_input=True, default="", show_default=False, err=True
            )
            if not answer and stored:
                values.pop(item.key, None)  # the stored secret is merged in later
                return
            if not answer and mandatory:
                click.echo(f"  {safe(item.key)} is mandatory: type it (Ctrl-C aborts)", err=True)
                continue
        elif item.type is FieldType.LIST and item.list_name in lists:
            choices = lists[item.list_name]
            for key, text in choices.items():
                click.echo(f"  {safe(key)}: {safe(text)}", err=True)
            answer = _ask(label, default, type=_Choice(list(choices)), show_choices=False)
        elif item.type is FieldType.CHECKBOX:
            answer = click.confirm(label, default=bool(default), err=True)
        elif default is not None:
            answer = _ask(label, str(default))
        elif mandatory:
            answer = click.prompt(label, err=True)  # asks again until something is typed
        else:
            answer = click.prompt(label, default="", show_default=False, err=True)
        errors = field_errors(item, answer, lists)
        if not errors:
            values[item.key] = answer
            return
        click.echo(f"  {safe(item.key)}: {safe('; '.join(errors), 1000)}", err=True)


def prompt_missing(
    fields: list[Field],
    values: dict[str, Any],
    lists: Lists,
    current: Mapping[str, Any] | None = None,
) -> None:
    """Show label fields and ask for each settable field not given: group by group (a
    group's title first), in rank order, skipping the fields whose visible_when does not
    hold on the values so far.

    When editing, `current` holds the stored values: they are the defaults.
    """
    from host.connector import FieldType
    from host.protocol.fieldrules import grouped

    for title, items in grouped(fields):
        titled = not title
        for item in items:
            shown, mandatory = _state(fields, item, values, current)
            if not shown or not (item.type is FieldType.LABEL or item.key not in values):
                continue
            if not item.settable and item.type is not FieldType.LABEL:
                continue
            if not titled:
                click.echo(f"\n== {safe(title, 100)} ==", err=True)
                titled = True
            if item.type is FieldType.LABEL:
                show_text(item)
            else:
                stored = (current or {}).get(item.key)
                ask_field(item, values, lists, stored, mandatory=mandatory)


def _state(
    fields: list[Field], item: Field, values: Mapping[str, Any], current: Mapping[str, Any] | None
) -> tuple[bool, bool]:
    """Whether `item` is shown, and mandatory, given the values so far over the stored
    ones and the connector's defaults."""
    from host.admin.forms import apply_defaults
    from host.protocol.fieldrules import required, typed_values, visible_keys

    merged = {**(current or {}), **values}
    apply_defaults(fields, merged)
    typed = typed_values(fields, merged)
    visible = visible_keys(fields, typed)
    return item.key in visible, required(item, typed, visible)


def offer_change(
    fields: list[Field],
    values: dict[str, Any],
    lists: Lists,
    current: Mapping[str, Any] | None,
    question: str,
    suggested: str | None = None,
) -> bool:
    """Ask whether to change a value; if so, which, and ask for it again. False: give up."""
    from host.protocol.validation import MASK

    if not click.confirm(question, default=True, err=True):
        return False
    settable = [
        f
        for f in sorted(fields, key=lambda f: f.rank)
        if f.settable and _state(fields, f, values, current)[0]
    ]
    merged = {**(current or {}), **values}
    for item in settable:
        value = merged.get(item.key)
        shown = MASK if item.is_secret and value not in (None, "") else value
        shown = "" if shown is None else shown
        click.echo(f"  {safe(item.key)}: {safe(item.display_name)} = {safe(shown)}", err=True)
    key = _ask(
        "Field to change", suggested, type=_Choice([f.key for f in settable]), show_choices=False
    )
    item = next(f for f in settable if f.key == key)
    ask_field(
        item,
        values,
        lists,
        (current or {}).get(key),
        mandatory=_state(fields, item, values, current)[1],
    )
    _ask_newly_shown(fields, values, lists, current)
    return True


def _ask_newly_shown(
    fields: list[Field], values: dict[str, Any], lists: Lists, current: Mapping[str, Any] | None
) -> None:
    """After a change, the fields it shows that have no value yet are asked too."""
    for item in sorted(fields, key=lambda f: f.rank):
        if item.settable and item.key not in values and (current or {}).get(item.key) is None:
            shown, mandatory = _state(fields, item, values, current)
            if shown and item.visible_when is not None:
                ask_field(item, values, lists, None, mandatory=mandatory)


def show_report(report: ValidationReport) -> None:
    """The per-field errors as a table on stderr (the values of secrets masked)."""
    rows = [f.to_dict() for f in report.fields if f.errors]
    rows += [{"name": k, "errors": ["not a config field"]} for k in report.unknown_keys]
    with _to_stderr():
        print_table(rows, ["name", "value", "errors"])


@contextmanager
def _to_stderr() -> Iterator[None]:
    import contextlib
    import sys

    with contextlib.redirect_stdout(sys.stderr):
        yield


def settle(
    registry: Registry,
    form: Form,
    values: dict[str, Any],
    *,
    interactive: bool,
    as_json: bool,
    current: Mapping[str, Any] | None = None,
) -> ConfigCheck:
    """Have the admin core check the values locally, then the connector test them, until
    both pass (host.admin.forms.check_config; nothing is saved by it).

    In a terminal a failure offers to change a value and try again; otherwise (or when the
    admin declines) it ends the command: exit 1 for bad values, 3 for a failed test, with a
    JSON result on --json.
    """
    from host.admin.forms import check_config

    fields, lists = form.fields, form.lists
    while True:
        check = run_async(check_config(registry, form, values, current))
        report = check.report
        if not report.ok:
            if interactive:
                show_report(report)
                if _drop_unsettable(fields, values, report):
                    continue
                bad = [f.key for f in report.fields if f.errors]
                if offer_change(
                    fields,
                    values,
                    lists,
                    current,
                    "Change a value and try again?",
                    bad[0] if bad else None,
                ):
                    continue
            fail_validation(report, as_json)
        if check.passed:
            _note_hidden(fields, values, report)
            return check
        message = f"connection test failed, nothing was saved: {check.message}"
        if interactive:
            click.echo(safe(message, 1000), err=True)
            if offer_change(fields, values, lists, current, "Change a value and test again?"):
                continue
        assert check.response is not None  # valid values are always sent for a test
        fail_test(TestFailed(message, check.response, "test"), as_json)


def _note_hidden(fields: list[Field], values: Mapping[str, Any], report: ValidationReport) -> None:
    """A value given for a field its visible_when hides is not saved: say so, on stderr."""
    by_key = {f.key: f for f in fields}
    for item in report.fields:
        cond = by_key[item.key].visible_when
        if not item.visible and values.get(item.key) not in (None, "") and cond is not None:
            click.echo(
                f"  {safe(item.key)}: not used unless {safe(cond.describe(), 200)}; not saved",
                err=True,
            )


def fail_validation(report: ValidationReport, as_json: bool) -> NoReturn:
    """Show the per-field report (Kafka Connect style), then stop with one line."""
    from host.admin.forms import invalid_message

    if as_json:
        emit_json({"saved": False, "validation": report.to_dict()})
    else:
        rows = [f.to_dict() for f in report.fields if f.errors]
        rows += [{"name": k, "errors": ["not a config field"]} for k in report.unknown_keys]
        print_table(rows, ["name", "value", "errors"])
    raise CliError(invalid_message(report))


def _drop_unsettable(fields: list[Field], values: dict[str, Any], report: ValidationReport) -> bool:
    """Values no prompt can fix (for a label, a read-only or an unknown field) are dropped,
    saying so; True when one was."""
    settable = {f.key for f in fields if f.settable}
    wrong = [f.key for f in report.fields if f.errors and f.key not in settable]
    dropped = [k for k in [*wrong, *report.unknown_keys] if k in values]
    for key in dropped:
        del values[key]
        click.echo(f"  {safe(key)}: cannot be given a value; dropped", err=True)
    return bool(dropped)


def fail_test(exc: TestFailed, as_json: bool) -> NoReturn:
    """Stop with exit 3; on --json first print what the connector answered."""
    from host.admin.forms import explain

    if as_json:
        response = exc.response
        emit_json(
            {
                "saved": False,
                exc.step: {
                    "state": response.state.value,
                    "error_code": response.error_code,
                    "message": explain(response),
                },
            }
        )
    raise CliError(str(exc), EXIT_CONNECTOR_REFUSED)


def ask_connector(registry: Registry) -> str:
    """A choice of the registered connectors."""
    records = registry.connectors()
    if not records:
        raise CliError(
            "no connector is registered; register one first: erpsync connectors add NAME URL"
        )
    for record in records:
        click.echo(f"  {safe(record.name)}: {safe(record.url)}", err=True)
    names = [r.name for r in records]
    return str(
        _ask(
            "Connector",
            names[0] if len(names) == 1 else None,
            type=_Choice(names),
            show_choices=False,
        )
    )


def ask_scope(registry: Registry) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Everyone, or restricted to users and groups picked from the existing ones."""
    users = [u["name"] for u in registry.users()]
    groups = [g["name"] for g in registry.groups()]
    if not users and not groups:
        return "everyone", (), ()  # nobody to restrict it to: no question to ask
    scope = click.prompt(
        "Who may use it",
        type=click.Choice(["everyone", "restricted"]),
        default="everyone",
        err=True,
    )
    if scope == "everyone":
        return "everyone", (), ()
    while True:
        picked_users = _pick("Users", users) if users else ()
        picked_groups = _pick("Groups", groups) if groups else ()
        if picked_users or picked_groups:
            return "restricted", picked_users, picked_groups
        click.echo("  restricted needs at least one user or group", err=True)


def _pick(what: str, existing: list[str]) -> tuple[str, ...]:
    click.echo(f"  {what.lower()}: {safe(', '.join(existing), 1000)}", err=True)
    while True:
        answer = click.prompt(
            f"{what} (comma-separated, empty for none)", default="", show_default=False, err=True
        )
        names = tuple(dict.fromkeys(n.strip() for n in str(answer).split(",") if n.strip()))
        unknown = [n for n in names if n not in existing]
        if not unknown:
            return names
        named = safe(", ".join(map(repr, unknown)))
        click.echo(f"  no {what.lower()[:-1]} named {named}", err=True)


def ask_description() -> str:
    return str(click.prompt("Description", default="", show_default=False, err=True))
