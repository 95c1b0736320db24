"""Memory under a bounded production-shaped load: bounded, flat, never OOM-killed."""

from harness import probes

RSS_BOUND_MIB = 80  # healthy: about 50 MiB with a full cache; the container limit is 128 MiB
# per request answered. A leaking cache keeps about 40 KiB per request; healthy runs measured up
# to 3.4 KiB per request in CI (the allocator settles while 135 KiB quotes churn): 8 keeps both
# margins wide, so a healthy service never fails and a leak of a fifth of this one still does
SLOPE_BOUND_KIB = 8.0
LIMIT_MIB = 128


def test_no_oom_kill_or_restart_during_load(probe):
    """The pricing service survives the load: no OOM kill, no restart"""
    state = probe.after["State"]
    assert not probe.restarted, (
        f"pricing restarted {probe.restarts} time(s) during {len(probe.load.responses)} requests "
        f"(State.OOMKilled={state['OOMKilled']}, last exit code {state['ExitCode']}, "
        f"RestartCount {probe.before['RestartCount']} -> {probe.after['RestartCount']})"
    )


def test_memory_stays_bounded(probe):
    """RSS stays under 80 MiB under load"""
    assert probe.memory, "could not read the memory of pricing during the load (was it running?)"
    peak = max(value for _, value in probe.memory)
    assert peak < RSS_BOUND_MIB, f"pricing's RSS reached {peak:.0f} MiB under load (bound {RSS_BOUND_MIB} MiB)"


def test_memory_has_no_upward_trend(probe):
    """RSS does not keep growing with traffic (least-squares slope over 3,000 requests)"""
    assert len(probe.memory) >= 5, f"only {len(probe.memory)} memory samples during the load (was pricing up?)"
    growth = probes.slope(probe.memory) * 1024
    first, last = probe.memory[0][1], probe.memory[-1][1]
    assert growth < SLOPE_BOUND_KIB, (
        f"pricing's RSS grows by {growth:.1f} KiB per request ({first:.0f} -> {last:.0f} MiB over "
        f"{probe.memory[-1][0]:.0f} requests; bound {SLOPE_BOUND_KIB} KiB per request)"
    )


def test_memory_limit_is_unchanged(inspect):
    """The 128 MiB memory limit is unchanged (fix the code, not the limit)"""
    limit = inspect("pricing")["HostConfig"]["Memory"] // (1024 * 1024)
    assert limit == LIMIT_MIB, f"pricing's memory limit is {limit or 'unlimited'} MiB; production runs it with {LIMIT_MIB} MiB"
