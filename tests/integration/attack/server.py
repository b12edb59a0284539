"""The attacked server: `swerve serve` on free ports of 127.0.0.1 for every listener (support's
SwerveServer), explicit model control with every model loaded (so the repository and management
APIs are live), the limits context names, and TMPDIR deep inside a sandbox folder, so that a
traversal out of an upload folder lands in the sandbox where it can be found."""
from __future__ import annotations

import os
from pathlib import Path

from support import SwerveServer, ports_of

from .context import GRPC_MAX_MESSAGE_SIZE, MAX_REQUEST_SIZE
from .family_uploads import PWNED_ABSOLUTE

SANDBOX_DEPTH = 8  # more levels than the deepest `../` chain of family_uploads


class AttackServer:
    """Starts, restarts after an exit, and reports on one attacked server."""

    def __init__(self, repository: Path, workdir: Path, extra_args: tuple[str, ...] = ()):
        self.sandbox = workdir / "sandbox"
        self.tmpdir = self.sandbox.joinpath(*[f"d{i}" for i in range(SANDBOX_DEPTH)], "tmp")
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        args = ("--max-request-size", str(MAX_REQUEST_SIZE), "--grpc-max-message-size", str(GRPC_MAX_MESSAGE_SIZE),
                "--model-control-mode", "explicit", "--load-model", "*", *extra_args)
        self.server = SwerveServer(repository, workdir / "server.log", args, env={**os.environ, "TMPDIR": str(self.tmpdir)})
        self.ports: dict[str, int] = {}
        self.exit_statuses: list[int] = []

    def start(self) -> None:
        self.server.start()
        self.ports = ports_of(self.server)

    def restart_if_exited(self) -> bool:
        """After an exit: records the status and starts a fresh process (new ports). True if it had exited."""
        if self.server.alive():
            return False
        self.exit_statuses.append(self.server.process.returncode)
        self.start()
        return True

    def stop(self) -> int:
        return self.server.stop()

    @property
    def pid(self) -> int:
        return self.server.pid

    def rss_kib(self) -> int:
        return self.server.rss_kib()

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def upload_folders_left(self) -> list[str]:
        """Upload folders (swerve-override-*) still in TMPDIR."""
        return sorted(p.name for p in self.tmpdir.glob("swerve-override-*"))

    def escaped_writes(self) -> list[str]:
        """Files the traversal inputs meant to plant outside an upload folder, found anywhere in the
        sandbox or at their absolute paths."""
        found = [p for p in self.sandbox.rglob("pwned-*") if "swerve-override-" not in str(p.relative_to(self.sandbox))]
        found += list(Path(PWNED_ABSOLUTE).parent.glob(Path(PWNED_ABSOLUTE).name + "*"))
        return sorted(str(p) for p in found)
