"""`python -m vndiplo`: the same CLI as the `vndiplo` command, for environments without its script on PATH."""

from .cli import main

main()
