"""File and config drift: replace a file inside a container, then let the process reload it."""

from __future__ import annotations

import base64
import io
import tarfile
from abc import abstractmethod
from pathlib import PurePosixPath
from typing import TypeVar

from pydantic import model_validator

from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, FaultParams, register
from harness.runtime.docker import DockerRuntime


class FileTargetParams(FaultParams):
    """What every fault that rewrites one file in a container names: where, and how it is reloaded."""

    service: str
    path: str
    reload: list[str] | None = None  # run in the container after the write, e.g. ["nginx", "-s", "reload"]


class FileDriftParams(FileTargetParams):
    content: str | None = None
    source: str | None = None  # a file in the scenario directory
    replace: dict[str, str] | None = None  # edits of the current content: old text -> new text

    @model_validator(mode="after")
    def _one_source(self) -> FileDriftParams:
        given = [name for name in ("content", "source", "replace") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of content, source or replace (got {', '.join(given) or 'none'})")
        if not self.path.startswith("/"):
            raise ValueError("path must be absolute inside the container")
        return self


def read_file(docker: DockerRuntime, service: str, path: str) -> bytes | None:
    """A file's bytes from inside a container, or None when it does not exist."""
    from docker.errors import NotFound

    try:
        stream, _ = docker.container(service).get_archive(path)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.extractfile(archive.getmembers()[0])
        return member.read() if member else None


def write_file(docker: DockerRuntime, service: str, path: str, data: bytes) -> None:
    """Write through the engine (works on bind mounts too) keeping the file's name and a sane mode."""
    target = PurePosixPath(path)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(target.name)
        info.size = len(data)
        info.mode = 0o644
        archive.addfile(info, io.BytesIO(data))
    if not docker.container(service).put_archive(str(target.parent), buffer.getvalue()):
        raise BreakfixError(f"could not write {path} in service {service}")


def run_reload(ctx: FaultContext, kind: str, service: str, command: list[str]) -> None:
    """Run a fault's reload command (e.g. nginx -s reload) in a service; a failure is the fault's error."""
    code, output = ctx.docker.exec(service, command)
    if code != 0:
        raise BreakfixError(f"{kind}: reload {' '.join(command)} failed in {service}: {output.strip()}")


TP = TypeVar("TP", bound=FileTargetParams)


class FileRewrite(Fault[TP]):
    """Write a file's new content (keeping the first original for revert), then reload."""

    @abstractmethod
    def _new_content(self, ctx: FaultContext, original: bytes | None) -> bytes: ...

    def _reload(self, ctx: FaultContext) -> None:
        params = self.params
        if params.reload:
            run_reload(ctx, self.kind, params.service, params.reload)

    def inject(self, ctx: FaultContext) -> None:
        params = self.params
        saved = ctx.load(self.key)
        if saved is None:  # keep the first original: a second inject must not save the drift as "original"
            original = read_file(ctx.docker, params.service, params.path)
            ctx.save(self.key, {"original": base64.b64encode(original).decode() if original is not None else None})
        else:
            original = base64.b64decode(saved["original"]) if saved["original"] is not None else None
        write_file(ctx.docker, params.service, params.path, self._new_content(ctx, original))
        self._reload(ctx)

    def revert(self, ctx: FaultContext) -> None:
        params = self.params
        saved = ctx.load(self.key)
        if saved is None:
            return
        if saved["original"] is None:
            ctx.docker.exec(params.service, ["rm", "-f", params.path])
        else:
            write_file(ctx.docker, params.service, params.path, base64.b64decode(saved["original"]))
        self._reload(ctx)
        ctx.forget(self.key)


@register
class FileDrift(FileRewrite[FileDriftParams]):
    kind = "file-drift"

    def _new_content(self, ctx: FaultContext, original: bytes | None) -> bytes:
        params = self.params
        if params.content is not None:
            return params.content.encode()
        if params.replace is not None:
            text = (original or b"").decode()
            for old, new in params.replace.items():
                if old not in text:
                    raise BreakfixError(f"{self.kind}: {params.path} in {params.service} has no {old!r} to replace")
                text = text.replace(old, new)
            return text.encode()
        source = ctx.entry_dir / str(params.source)
        if not source.is_file():
            raise BreakfixError(f"{self.kind}: source {source} not found")
        return source.read_bytes()
