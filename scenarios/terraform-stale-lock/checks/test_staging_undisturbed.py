"""The colleague's staging apply: a live lock belongs to a live process and is not yours to break."""


def test_staging_apply_finished_cleanly(terraform, colleague_run):
    """the colleague's apply on staging ran to completion, undisturbed"""
    run = colleague_run
    lock = terraform.lock("staging")
    if run.pid() is not None:
        if run.alive():
            assert lock is not None, (
                f"the staging lock is gone while the colleague's apply (pid {run.pid()}) is still running: "
                "a force-unlock of a live apply lets two writers corrupt the state"
            )
            raise AssertionError(
                f"the colleague's staging apply is still running (pid {run.pid()}, lock since {lock.get('Created')}): "
                "its lock is live, not stale -- let it finish (a command with -lock-timeout waits for it), then check again"
            )
        code = run.exit_code()
        assert code is not None, f"the colleague's staging apply (pid {run.pid()}) was killed before it finished; its changes are lost"
        assert code == 0, f"the colleague's staging apply failed (exit {code}) -- was its lock removed while it ran? {run.tail(2)}"
    assert lock is None, f"staging is locked (lock ID {lock.get('ID')}, since {lock.get('Created')}) though nobody is applying to it"
