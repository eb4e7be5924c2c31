"""`erpsync doctor`: find (and with --repair, mend) what a crash or an outage left behind.

The checks and repairs are host/admin/doctor.py; this module parses and renders.
"""

from __future__ import annotations

import click

from host.cli.common import db_option, emit_json, json_option, open_registry, print_table, run_async
from host.cli.deadline import command_timeout, timeout_option_each
from host.cli.errors import CliError


@click.command()
@click.option("--repair", is_flag=True, help="Mend what can be mended, from the registry.")
@timeout_option_each("connector")
@json_option
@db_option
def doctor(repair: bool, as_json: bool, db_path: str | None) -> None:
    """Check the registry, its file modes, the secrets, the apps and every connector.

    Finds connections a connector forgot (re-sent with --repair) and GUIDs this registry
    handed to a connector but never registered or removed since (deleted on the connector
    with --repair), as a crash between the two saves can leave. A GUID the registry never
    handed out (another registry's on a shared connector) or that belongs to another
    connector record is reported and never deleted. Secrets that cannot be decrypted are
    reported per record (erpsync secrets reset is the way out if the key is lost). Files
    that other users can read are reported with the chmod that fixes them (--repair runs
    it). Connections an app upgrade broke are marked needs attention, with the reasons
    (host/admin/upgrades.py). Every repair is audited. Exits 1 when a problem remains.

    \b
    Examples:
        erpsync doctor
        erpsync doctor --repair --json
    """
    from host.admin import doctor as checks

    registry = open_registry(db_path, create=False)
    findings = checks.local_checks(registry, repair)
    findings += run_async(checks.check_connectors(registry, repair, command_timeout()))
    problems = checks.problems(findings)
    if as_json:
        emit_json({"ok": not problems, "findings": [f.to_dict() for f in findings]})
    else:
        print_table([f.to_dict() for f in findings], ["check", "status", "detail"])
    if problems:
        raise CliError(
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} found"
            + ("" if repair else "; run erpsync doctor --repair to mend what can be mended")
        )
