"""The remote state is the one the last good apply wrote: readable, same lineage, same resources."""

from harness.checks import resource_instances


def test_state_is_readable(current):
    """the prod state object is a valid Terraform state"""
    tail = current.raw[-60:].decode(errors="replace") if current.raw else ""
    assert current.data is not None, f"Terraform cannot read the prod state: {current.error}; it ends with {tail!r}"


def test_lineage_unchanged(current, good):
    """the prod state keeps its lineage (it is the same state, not a new one)"""
    assert current.data is not None, "the prod state is unreadable, so its lineage is unknown"
    assert current.data["lineage"] == good["lineage"], (
        f"the prod state has a new lineage {current.data['lineage']} (was {good['lineage']}): "
        "it is a new state, not the restored one"
    )


def test_resources_unchanged(current, good):
    """every resource of the last good apply is tracked, with the same ID and attributes"""
    assert current.data is not None, "the prod state is unreadable, so it tracks no resources"
    now = resource_instances(current.data)
    missing = sorted(set(good["resources"]) - set(now))
    assert not missing, f"{len(missing)} resource(s) of the last good apply are not in the state: {', '.join(missing[:5])}"
    recreated = sorted(address for address, attributes in good["resources"].items() if now[address].get("id") != attributes.get("id"))
    assert not recreated, (
        f"{len(recreated)} resource(s) have new IDs -- they were re-created, not restored: {', '.join(recreated[:5])}"
    )
    changed = sorted(address for address, attributes in good["resources"].items() if now[address] != attributes)
    assert not changed, f"{len(changed)} resource(s) differ from the last good apply: {', '.join(changed[:5])}"
