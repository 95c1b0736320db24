"""No state lost and no state history rewritten, in any workspace."""

from itertools import pairwise

from harness.checks import resource_instances


def test_no_state_lost(terraform, baseline, workspaces):
    """every workspace keeps every resource, its lineage, and a serial that never went back"""
    for workspace in workspaces:
        before = baseline[workspace]
        current = terraform.state(workspace)
        assert current.data is not None, f"the {workspace} state is unreadable: {current.error}"
        assert current.data["lineage"] == before["lineage"], (
            f"the {workspace} state has a new lineage ({current.data['lineage']}, was {before['lineage']}): "
            "it was recreated, and Terraform no longer tracks the real resources it created"
        )
        assert current.data["serial"] >= before["serial"], f"the {workspace} state went back to serial {current.data['serial']} (was {before['serial']})"
        missing = sorted(set(before["resources"]) - set(resource_instances(current.data)))
        assert not missing, f"the {workspace} state lost {len(missing)} resource(s): {', '.join(missing[:5])}"


def test_state_history_intact(terraform, baseline, workspaces):
    """state objects were only written by Terraform: never deleted, never replaced by hand"""
    for workspace in workspaces:
        versions, delete_markers = terraform.history(workspace)
        assert not delete_markers, f"the {workspace} state object was deleted ({len(delete_markers)} delete marker(s) in the bucket)"
        ids = [version["VersionId"] for version in versions]
        assert baseline[workspace]["version_id"] in ids, (
            f"the {workspace} state's history is gone (its version from before the incident no longer exists): "
            "was the bucket or the object recreated?"
        )
        serials = []
        for version in versions[ids.index(baseline[workspace]["version_id"]):]:
            read = terraform.state(workspace, version["VersionId"])
            assert read.data is not None, f"a version of the {workspace} state is not a Terraform state: {read.error}"
            assert read.data["lineage"] == baseline[workspace]["lineage"], f"a version of the {workspace} state has a foreign lineage"
            serials.append(read.data["serial"])
        assert all(a < b for a, b in pairwise(serials)), (
            f"the {workspace} state's serials went {serials}: Terraform only ever writes a higher serial, "
            "so a version was written by hand"
        )
