"""Terraform state faults, all real: locks held by real `terraform apply` processes, bytes really
written to the versioned state bucket.

- terraform-killed-apply: an apply (a CI job) is SIGKILLed mid-provisioner with its process group,
  leaving the stale lock file Terraform never got to delete;
- terraform-running-apply: an apply (a colleague) keeps running in the background and holds a live
  lock until its slow step finishes;
- terraform-state-corrupt: a broken tool overwrites a workspace's state with truncated JSON.

The apply faults name their run (`runs/<run>/` under the instance's terraform dir) so that checks
can ask whether that process is alive, how it exited and what it logged.
"""

from __future__ import annotations

from pydantic import Field

from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, FaultParams, register
from harness.runtime.aws import client
from harness.runtime.terraform import Run, TerraformRuntime


class ApplyParams(FaultParams):
    run: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="names the run; checks look it up by this name")
    workspace: str
    until: str = Field(description="resource address: act once this resource's provisioner has started")
    replace: list[str] = Field(default_factory=list, description="addresses for -replace")
    vars: dict[str, str] = Field(default_factory=dict, description="-var name=value")
    timeout: float = Field(default=60, gt=0, le=600)


class _Apply(Fault[ApplyParams]):
    """Starts the apply and waits until it holds the workspace's lock and is inside `until`."""

    def _start(self, terraform: TerraformRuntime) -> tuple[Run, str]:
        args = [f"-replace={address}" for address in self.params.replace]
        args += [f"-var={name}={value}" for name, value in self.params.vars.items()]
        run = terraform.start_apply(self.params.run, self.params.workspace, args)
        run.wait_for("provision_start", self.params.until, self.params.timeout)
        lock = terraform.lock(self.params.workspace)
        if lock is None:
            run.kill()
            raise BreakfixError(f"{self.kind}: the apply in workspace {self.params.workspace} is running but holds no lock")
        return run, str(lock["ID"])

    def _still_locked_by_us(self, ctx: FaultContext) -> str | None:
        saved = ctx.load(self.key)
        lock = ctx.runtime("terraform").lock(self.params.workspace)
        if saved and lock and lock.get("ID") == saved["lock_id"]:
            return str(saved["lock_id"])
        return None

    def revert(self, ctx: FaultContext) -> None:
        terraform: TerraformRuntime = ctx.runtime("terraform")
        terraform.background_run(self.params.run).kill()
        lock_id = self._still_locked_by_us(ctx)
        if lock_id:
            terraform.must(terraform.stack_dir, "force-unlock", "-force", lock_id, workspace=self.params.workspace)
        ctx.forget(self.key)


@register
class KilledApply(_Apply):
    kind = "terraform-killed-apply"

    def inject(self, ctx: FaultContext) -> None:
        if self._still_locked_by_us(ctx):
            return
        terraform: TerraformRuntime = ctx.runtime("terraform")
        run, lock_id = self._start(terraform)
        run.kill()
        if terraform.lock(self.params.workspace) is None:
            raise BreakfixError(f"{self.kind}: the killed apply left no lock in workspace {self.params.workspace}")
        ctx.save(self.key, {"lock_id": lock_id})


@register
class RunningApply(_Apply):
    kind = "terraform-running-apply"

    def inject(self, ctx: FaultContext) -> None:
        terraform: TerraformRuntime = ctx.runtime("terraform")
        if self._still_locked_by_us(ctx) and terraform.background_run(self.params.run).alive():
            return
        _, lock_id = self._start(terraform)
        ctx.save(self.key, {"lock_id": lock_id})


class CorruptParams(FaultParams):
    workspace: str
    keep: float = Field(default=0.6, gt=0, lt=1, description="fraction of the state's bytes the broken tool wrote")
    writes: int = Field(default=1, ge=1, le=5, description="how many corrupt versions it wrote (it retried)")


@register
class StateCorrupt(Fault[CorruptParams]):
    kind = "terraform-state-corrupt"

    def inject(self, ctx: FaultContext) -> None:
        params = self.params
        terraform: TerraformRuntime = ctx.runtime("terraform")
        saved = ctx.load(self.key)
        versions, _ = terraform.history(params.workspace)
        if saved and versions and versions[-1]["VersionId"] in saved["corrupt_versions"]:
            return  # still corrupt; a re-provisioned bucket (reset, verify's fakes) is corrupted afresh
        good = terraform.state(params.workspace)
        if good.raw is None or good.data is None:
            raise BreakfixError(f"{self.kind}: workspace {params.workspace} has no valid state to corrupt ({good.error})")
        s3 = client("s3")
        key = terraform.backend.state_key(params.workspace)
        written = []
        for attempt in range(params.writes):
            cut = int(len(good.raw) * params.keep) - attempt * 97  # each retry died at a different byte
            response = s3.put_object(Bucket=terraform.backend.bucket, Key=key, Body=good.raw[:cut], ContentType="application/json")
            written.append(response["VersionId"])
        ctx.save(self.key, {"corrupt_versions": written})

    def revert(self, ctx: FaultContext) -> None:
        params = self.params
        saved = ctx.load(self.key)
        if not saved:
            return
        terraform: TerraformRuntime = ctx.runtime("terraform")
        for version in saved["corrupt_versions"]:  # deleting a version makes the one before it current again
            client("s3").delete_object(Bucket=terraform.backend.bucket, Key=terraform.backend.state_key(params.workspace), VersionId=version)
        ctx.forget(self.key)
