"""Demo: `python -m erpsync_example_csv [DIRECTORY]` runs the connector on an export directory.

It calls the connector directly, as the host would, so a partner can see every answer before
installing the app into a host. Without DIRECTORY it uses the bundled sample export; with one,
and no ERPSYNC_CSV_ROOT set, that directory is the root the connector may read.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

from host import Connection

from erpsync_example_csv.confine import ROOT_ENV
from erpsync_example_csv.confine import sample_data_dir as bundled_sample
from erpsync_example_csv.connector import CsvErpConnector
from erpsync_example_csv.csvstore import DECIMAL_SEPARATORS, DELIMITERS


def sample_data_dir() -> Path:
    """The sample export, or exit with a message when it is not installed."""
    found = bundled_sample()
    if found is None:
        raise SystemExit("The sample export is not installed; pass the export directory.")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m erpsync_example_csv", description=__doc__)
    parser.add_argument("directory", nargs="?", help="export directory (default: sample data)")
    parser.add_argument("--delimiter", default="comma", choices=list(DELIMITERS))
    parser.add_argument("--decimal-separator", default=".", choices=list(DECIMAL_SEPARATORS))
    parser.add_argument("--encoding", default="utf-8")
    parser.add_argument("--page-size", type=int, default=2, help="changed-since page size")
    args = parser.parse_args(argv)

    if args.directory and not os.environ.get(ROOT_ENV):
        # Whoever runs the demo is the operator: the directory they name is the root.
        os.environ[ROOT_ENV] = str(Path(args.directory).expanduser().resolve())
    connector = CsvErpConnector()
    config = {
        "directory": args.directory or str(sample_data_dir()),
        "delimiter": args.delimiter,
        "decimal_separator": args.decimal_separator,
        "encoding": args.encoding,
    }
    result = connector.test_config(config)
    print(f"test config: {result.state.value}: {result.user_explanation}")
    if not result.ok:
        return 1

    connection = Connection(str(uuid.uuid4()), config)
    for actor_type in connector.actor_types(connection):
        fields = [f.key for f in connector.actor_fields(connection, actor_type)]
        print(f"\n{actor_type}: fields {', '.join(fields)}")
        cursor, page_number = "", 0
        while True:
            page = connector.changed_since(connection, actor_type, "", [], cursor, args.page_size)
            page_number += 1
            for actor in page.actors:
                first = next(iter(actor.field_values.values()), "")
                parent = f" (of {actor.parent_erp_key})" if actor.parent_erp_key else ""
                print(
                    f"  page {page_number}: {actor.last_modified}  {actor.erp_key}  {first}{parent}"
                )
            if not page.cursor:
                break
            cursor = page.cursor
    return 0


if __name__ == "__main__":
    sys.exit(main())
