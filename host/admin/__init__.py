"""The admin core: every workflow that changes the registry or asks a connector, as plain
(async) Python that every face (host.cli, host.web) calls.

No click, no web framework, no printing and no exit codes here: a workflow returns a result
or raises one of the kinds in host.admin.errors, and each face renders it its own way (the
CLI maps kinds to exit codes in one table, host.cli.errors). Clients of connectors come from
host.admin.clients only.
"""
