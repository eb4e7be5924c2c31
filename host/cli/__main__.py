"""`python -m host.cli`: the same as the `erpsync` script."""

from host.cli import main

main()
