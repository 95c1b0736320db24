"""`breakfix ui`: a local page beside the terminal, a view of the same engine and state as the CLI.

Reads (catalog, entry, status, history) call the harness in-process; every action that changes state
(check, hint, reset, stop) runs the `breakfix` command itself, so a check pressed on the page is the
check the terminal would have run, recorded where `breakfix status` and `breakfix history` read it.
"""
