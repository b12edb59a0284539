"""Fixtures: model repositories generated once per session, and the real `swerve` binary serving them.

Run: .venv/bin/python -m pytest tests/integration      (SWERVE_BIN overrides .build/debug/swerve)
"""
from __future__ import annotations

from pathlib import Path

import pytest
import tritonclient.http as httpclient

import model_factory
from support import Reference, SwerveServer


@pytest.fixture(scope="session")
def repos(tmp_path_factory) -> dict[str, Path]:
    """Every repository the suite serves, generated once: main, versions, broken, shutdown, example,
    many, classification. (Repositories a test changes are made by that test in its own folder.)"""
    root = tmp_path_factory.mktemp("repositories")
    paths = {name: root / name
             for name in ("main", "versions", "broken", "shutdown", "example", "many", "classification")}
    model_factory.make_main_repo(paths["main"])
    model_factory.make_versions_repo(paths["versions"])
    model_factory.make_broken_repo(paths["broken"])
    model_factory.make_shutdown_repo(paths["shutdown"])
    model_factory.make_many_models_repo(paths["many"])
    model_factory.make_classification_repo(paths["classification"])
    model_factory.load_example_script().make_example_repo(paths["example"], quiet=True)
    return paths


@pytest.fixture(scope="session")
def model_files(repos) -> dict[str, Path]:
    """Model name -> version 1 model.onnx in the main repository (for reference answers)."""
    return {p.parent.parent.name: p for p in sorted(repos["main"].glob("*/1/model.onnx"))}


@pytest.fixture(scope="session")
def logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def start_server(logs):
    """Starts a `swerve serve` on a repository; every server started is stopped at session end
    (tests that stop one themselves check its exit)."""
    started: list[SwerveServer] = []

    def start(repository: Path, name: str, extra_args: tuple[str, ...] = (), **kwargs) -> SwerveServer:
        server = SwerveServer(repository, logs / f"{name}-{len(started)}.log", extra_args, **kwargs)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        if server.alive():
            server.kill()


@pytest.fixture(scope="session")
def server(repos, logs):
    """The shared server on the main repository (example models + test models)."""
    srv = SwerveServer(repos["main"], logs / "main.log").start()
    yield srv
    srv.stop_and_check()


@pytest.fixture
def client(server):
    c = httpclient.InferenceServerClient(server.address, network_timeout=30, connection_timeout=10)
    yield c
    c.close()


@pytest.fixture(scope="session")
def reference() -> Reference:
    return Reference()


@pytest.fixture(scope="session")
def classifier_repo(tmp_path_factory) -> Path:
    """A repository holding only the real EfficientNet-Lite0 classifier with its image pipeline
    (scripts/make_classifier.py, run once per session with Debian's python3)."""
    import subprocess
    root = tmp_path_factory.mktemp("classifier")
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_classifier.py"
    result = subprocess.run(["/usr/bin/python3", str(script), str(root)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"make_classifier.py failed:\n{result.stdout}\n{result.stderr}"
    assert (root / "efficientnet_lite0" / "1" / "model.onnx").exists()
    return root


@pytest.fixture(scope="session")
def labels(classifier_repo) -> list[str]:
    """The classifier's labels.txt: its 1000 ImageNet labels in class index order."""
    return (classifier_repo / "efficientnet_lite0" / "labels.txt").read_text().splitlines()
