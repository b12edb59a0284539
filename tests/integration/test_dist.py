"""The binary distribution (issue 17): `make dist`'s tarball, unpacked into a minimal Debian root
(`debootstrap --variant=minbase bookworm`) with nothing else installed, serves the EfficientNet-Lite0
classifier to `curl -T cat.jpg` sent from outside the root.

The server runs as the container image runs it: in a mount namespace of its own (unshare), chrooted
into an overlay on the cached Debian root, as uid 65532, with /proc and /sys mounted, an empty
environment (no variable names ONNX Runtime: bin/swerve finds lib/ by itself), and the model
repository bind-mounted read-only at /mnt/models. Nothing may be written in the root.

The tarball is $SWERVE_DIST_TARBALL, else `make dist` builds it: a release build of its own
(scratch .build-dist), the long part when cold. The Debian root is made once by debootstrap and
cached in $XDG_CACHE_HOME/swerve/debootstrap/ (about 30 s with a near mirror); a mirror that cannot
be reached fails the test, it is not skipped. Needs root (mount, chroot), as CI has.

Run time on the 2-core machine: 4 s with the tarball and the root cached; `make dist` adds about
50 s when its build is warm and about 20 min when cold (a release build of every module with
--static-swift-stdlib); making the root adds about 30 s.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
import requests

from support import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
IMAGES = PROJECT_ROOT / "tests" / "fixtures" / "images"
MODEL = "efficientnet_lite0"
DEBIAN_SUITE = "bookworm"
DEBIAN_VARIANT = "minbase"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
USER = "65532:65532"
READY_TIMEOUT_S = 120.0
MAKE_DIST_TIMEOUT_S = 3600

# Runs as `sh -c SCRIPT sh ROOT LOWER UPPER WORK MODELS SWERVE-ARGS…` under `unshare --mount`: the
# mounts live and die with the server's mount namespace, and the last `exec`s keep one process (the
# one the test started) from unshare to swerve, so signals reach the server itself.
IN_NAMESPACE = """set -e
root=$1 lower=$2 upper=$3 work=$4 models=$5
shift 5
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
mount --bind "$models" "$root/mnt/models"
mount -o remount,bind,ro "$root/mnt/models"
exec /usr/bin/env -i /usr/sbin/chroot --userspec=%s "$root" /opt/swerve/bin/swerve serve --model-repository /mnt/models "$@"
""" % USER


def debian_root_cache() -> Path:
    """Where the debootstrap root is kept, named for debootstrap's arguments and the architecture."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "swerve" / "debootstrap"
    arguments = (platform.machine(), DEBIAN_VARIANT, DEBIAN_SUITE, DEBIAN_MIRROR)
    key = hashlib.sha256("\0".join(arguments).encode()).hexdigest()[:12]
    return cache / f"{DEBIAN_SUITE}-{DEBIAN_VARIANT}-{platform.machine()}-{key}"


@pytest.fixture(scope="module")
def needs_root():
    if os.geteuid() != 0:
        pytest.fail("test_dist.py needs root (mount, chroot, unshare); CI runs as root")


@pytest.fixture(scope="module")
def debian_root(needs_root) -> Path:
    """A minimal Debian root, made by debootstrap the first time and cached after (renamed into
    place only when complete, so an interrupted run leaves nothing that looks usable)."""
    root = debian_root_cache()
    if (root / "usr" / "bin" / "apt-get").exists():
        return root
    if shutil.which("debootstrap") is None:
        pytest.fail("debootstrap is not installed: make setup installs it (Debian's debootstrap package)")
    partial = root.with_name(f"{root.name}.partial-{os.getpid()}")
    partial.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = subprocess.run(["debootstrap", f"--variant={DEBIAN_VARIANT}", DEBIAN_SUITE, str(partial), DEBIAN_MIRROR],
                            capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        pytest.fail(f"debootstrap could not make the minimal Debian root from {DEBIAN_MIRROR} (is the mirror "
                    f"reachable?), exit status {result.returncode}:\n{(result.stdout + result.stderr)[-3000:]}")
    try:
        partial.rename(root)
    except OSError:  # another run finished first: keep its root
        shutil.rmtree(partial)
        assert (root / "usr" / "bin" / "apt-get").exists(), f"{root} is not a Debian root"
    print(f"debootstrap made {root} in {time.monotonic() - started:.0f} s")
    return root


@pytest.fixture(scope="module")
def dist_tarball() -> Path:
    """$SWERVE_DIST_TARBALL, else the tarball `make dist` writes (its last output line)."""
    if os.environ.get("SWERVE_DIST_TARBALL"):
        tarball = Path(os.environ["SWERVE_DIST_TARBALL"])
        assert tarball.is_file(), f"SWERVE_DIST_TARBALL={tarball}: no such file"
        return tarball
    result = subprocess.run(["make", "--no-print-directory", "dist"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=MAKE_DIST_TIMEOUT_S)
    assert result.returncode == 0, f"make dist failed:\n{(result.stdout + result.stderr)[-5000:]}"
    tarball = PROJECT_ROOT / result.stdout.strip().splitlines()[-1]
    assert tarball.is_file(), f"make dist named {tarball}, which does not exist:\n{result.stdout[-2000:]}"
    return tarball


def model_repository(classifier_repo: Path, folder: Path) -> Path:
    """A copy of the classifier's repository that anyone may read and no one may write."""
    models = folder / "models"
    shutil.copytree(classifier_repo / MODEL, models / MODEL)
    for path in [models, *models.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return models


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under `folder`: its size and modification time, to see that nothing changed."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def listener_args(binary: Path) -> tuple[list[str], dict[str, int]]:
    """A free port on 127.0.0.1 for every listener `swerve serve --help` names; returns the
    arguments and the ports by flag ("--http-port": …)."""
    help_text = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True,
                               timeout=30, env={}).stdout
    ports = {flag: free_port() for flag in sorted(set(re.findall(r"--[a-z][a-z-]*-port\b", help_text)))}
    assert "--http-port" in ports and "--torchserve-port" in ports, help_text
    args = []
    for flag, port in ports.items():
        args += [flag, str(port)]
        address = flag.removesuffix("-port") + "-address"
        if address in help_text:
            args += [address, "127.0.0.1"]
    return args, ports


class ChrootedServer:
    """`swerve serve` from the unpacked tarball, in the Debian root, as USER."""

    def __init__(self, debian_root: Path, dist_tarball: Path, models: Path, folder: Path):
        self.upper, self.work, self.merged = folder / "upper", folder / "work", folder / "merged"
        for path in (self.upper / "opt", self.upper / "mnt" / "models", self.work, self.merged):
            path.mkdir(parents=True)
        subprocess.run(["tar", "-xzf", str(dist_tarball), "-C", str(self.upper / "opt")], check=True, timeout=120)
        self.binary = self.upper / "opt" / "swerve" / "bin" / "swerve"
        self.args, self.ports = listener_args(self.binary)
        self.command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", IN_NAMESPACE, "sh",
                        str(self.merged), str(debian_root), str(self.upper), str(self.work), str(models),
                        *self.args]
        self.log_path = folder / "swerve.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "ChrootedServer":
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        ready = f"http://127.0.0.1:{self.ports['--http-port']}/v2/health/ready"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"swerve exited with status {self.process.returncode} in the Debian root; "
                                     f"log:\n{self.log()}")
            try:
                if requests.get(ready, timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"swerve in the Debian root was not ready within {READY_TIMEOUT_S:.0f} s; "
                             f"log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"swerve did not exit within 30 s of SIGTERM; log:\n{self.log()}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture(scope="module")
def chrooted(debian_root, dist_tarball, classifier_repo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dist")
    models = model_repository(classifier_repo, folder)
    before = snapshot(models)
    server = ChrootedServer(debian_root, dist_tarball, models, folder).start()
    yield server
    server.kill()
    assert snapshot(models) == before, "the model repository changed"


def test_tarball_holds_the_binary_onnx_runtime_and_licenses(dist_tarball):
    with tarfile.open(dist_tarball) as archive:
        members = {m.name: m for m in archive.getmembers()}
    assert members["swerve/bin/swerve"].mode & 0o111
    assert any(re.fullmatch(r"swerve/lib/libonnxruntime\.so\.1\.\d+\.\d+", name) for name in members), sorted(members)
    for name in ("swerve/LICENSE", "swerve/NOTICE", "swerve/README", "swerve/licenses/onnxruntime/LICENSE",
                 "swerve/licenses/swift/LICENSE.txt", "swerve/licenses/libjpeg-turbo/copyright",
                 "swerve/licenses/libpng/copyright", "swerve/licenses/swift-nio/LICENSE.txt"):
        assert name in members, f"{name} missing from {dist_tarball.name}"
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())


@pytest.mark.parametrize("image", ["cat.jpg", "espresso.png"])
def test_curl_from_outside_gets_the_label_from_the_server_in_a_bare_debian_root(chrooted, image):
    """The seed's own command against the unpacked tarball, curl -T cat.jpg (libjpeg), and a PNG
    (libpng): each gets its known top label."""
    url = f"http://127.0.0.1:{chrooted.ports['--torchserve-port']}/predictions/{MODEL}"
    out = subprocess.run(["curl", "-sS", "--fail-with-body", "-T", str(IMAGES / image), url],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"curl: {out.returncode} {out.stderr} {out.stdout[:300]}"
    top = json.loads(out.stdout)
    expected = json.loads((IMAGES / "expected.json").read_text())[image]["accept_top1"]
    assert max(top, key=top.get) in expected, top


def test_server_runs_as_non_root_with_the_bundled_onnx_runtime_and_no_environment(chrooted):
    status = Path(f"/proc/{chrooted.process.pid}/status").read_text()
    uid = re.search(r"^Uid:\s+(\d+)\s+(\d+)", status, re.M)
    assert uid and uid.groups() == ("65532", "65532"), status
    assert Path(f"/proc/{chrooted.process.pid}/cmdline").read_bytes().split(b"\0")[0] == b"/opt/swerve/bin/swerve"
    assert Path(f"/proc/{chrooted.process.pid}/environ").read_bytes() == b"", "the environment should be empty"
    assert re.search(r"ONNX Runtime 1\.\d+\.\d+ from /opt/swerve/lib/libonnxruntime\.so\.1\.\d+\.\d+;", chrooted.log()), \
        chrooted.log()
    # The process's mappings, with paths as seen from outside its root.
    maps = Path(f"/proc/{chrooted.process.pid}/maps").read_text()
    bundled = re.escape(f"{chrooted.merged}/opt/swerve/lib/libonnxruntime.so.")
    assert re.search(rf" {bundled}1\.\d+\.\d+$", maps, re.M), f"ONNX Runtime is not mapped from /opt/swerve/lib:\n{maps}"
    for library in ("libjpeg", "libpng"):
        assert library not in maps, f"{library} is a shared library: make dist should link it statically"


def test_sigterm_stops_it_cleanly_and_nothing_was_written_in_the_root(chrooted):
    assert chrooted.stop() == 0, f"exit status {chrooted.process.returncode}; log:\n{chrooted.log()}"
    written = sorted(str(p.relative_to(chrooted.upper)) for p in chrooted.upper.rglob("*")
                     if not str(p.relative_to(chrooted.upper)).startswith(("opt/swerve", "mnt/models")))
    assert written == ["mnt", "opt"], f"written in the root: {written}"
