"""The manifests in deploy/ (issue 17) are checked, not just written:
- every document validates against the JSON schema of its kind stored in deploy/schemas/
  (Kubernetes v1.30 core types, KServe v0.20 and KEDA v2.20 CRDs; deploy/schemas/README.md gives
  each source), with unknown fields refused as `kubectl apply --validate=strict` refuses them;
- the container args of the KServe runtime and of the plain Deployment start the real `swerve serve`
  (on free ports and a temporary repository, appended after the manifest's own flags: a repeated
  flag's last value wins), and every probe path, named port and metrics annotation of the manifest
  answers 200 on the port the manifest gives it;
- the ports the args give are the ports the manifests declare, the autoscalers name the Deployment
  and the metric that prometheus-adapter publishes, and the scaling queries sum the in-flight gauge
  that the server exports (a sum over models, never an average: triton-inference-server#8979)."""
from __future__ import annotations

import copy
import json
import re
import signal
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest
import requests
import yaml

import model_factory
from support import PROJECT_ROOT, free_port, onnxruntime_library, serve_help, swerve_binary

DEPLOY = PROJECT_ROOT / "deploy"
SCHEMAS = DEPLOY / "schemas"
READY_TIMEOUT_S = 60.0
IN_FLIGHT = "swerve_inference_requests_in_flight"

# (apiVersion, kind) -> schema file under deploy/schemas/, and whether it is a CRD's
# openAPIV3Schema (whose objects the API server prunes of unknown fields, which strict validation
# refuses: made explicit here with additionalProperties false).
SCHEMA_FILES = {
    ("apps/v1", "Deployment"): ("kubernetes-v1.30.0/deployment-apps-v1.json", False),
    ("v1", "Service"): ("kubernetes-v1.30.0/service-v1.json", False),
    ("v1", "ConfigMap"): ("kubernetes-v1.30.0/configmap-v1.json", False),
    ("v1", "PersistentVolumeClaim"): ("kubernetes-v1.30.0/persistentvolumeclaim-v1.json", False),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("kubernetes-v1.30.0/horizontalpodautoscaler-autoscaling-v2.json", False),
    ("serving.kserve.io/v1alpha1", "ClusterServingRuntime"): ("kserve-v0.20.0/clusterservingruntime-serving-v1alpha1.json", True),
    ("serving.kserve.io/v1beta1", "InferenceService"): ("kserve-v0.20.0/inferenceservice-serving-v1beta1.json", True),
    ("keda.sh/v1alpha1", "ScaledObject"): ("keda-v2.20.2/scaledobject-keda-v1alpha1.json", True),
}


def manifest_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*.yaml") if SCHEMAS not in p.parents)


def documents() -> list[tuple[str, dict]]:
    """Every YAML document in deploy/, as (file:index, document)."""
    found = []
    for path in manifest_files():
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if document is not None:
                found.append((f"{path.relative_to(DEPLOY)}:{index}", document))
    return found


def one(kind: str) -> dict:
    matches = [d for _, d in documents() if d.get("kind") == kind]
    assert len(matches) == 1, f"expected one {kind} in deploy/, found {len(matches)}"
    return matches[0]


def strict(schema):
    """A CRD schema with additionalProperties false on every object that lists its properties
    and does not keep unknown fields (x-kubernetes-preserve-unknown-fields)."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


_validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}


def validator(document: dict) -> jsonschema.protocols.Validator:
    key = (document.get("apiVersion"), document.get("kind"))
    assert key in SCHEMA_FILES, f"no schema stored for {key}: add it to deploy/schemas and SCHEMA_FILES"
    if key not in _validators:
        name, is_crd = SCHEMA_FILES[key]
        schema = json.loads((SCHEMAS / name).read_text())
        schema = strict(schema) if is_crd else schema
        _validators[key] = jsonschema.Draft202012Validator(schema)
    return _validators[key]


def errors(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
            for e in validator(document).iter_errors(document)]


# -- schemas ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("where,document", documents(), ids=[w for w, _ in documents()])
def test_manifest_validates_against_its_kinds_schema(where, document):
    assert errors(document) == [], where


def test_every_kind_the_tests_know_is_used_and_every_manifest_is_checked():
    used = {(d.get("apiVersion"), d.get("kind")) for _, d in documents()}
    assert used == set(SCHEMA_FILES), f"schemas without manifests: {set(SCHEMA_FILES) - used}; unknown kinds: {used - set(SCHEMA_FILES)}"
    assert len(manifest_files()) >= 8, manifest_files()


def test_schema_readme_names_every_stored_schema():
    readme = (SCHEMAS / "README.md").read_text()
    stored = sorted(str(p.relative_to(SCHEMAS)) for p in SCHEMAS.rglob("*.json"))
    assert stored == sorted(name for name, _ in SCHEMA_FILES.values()), stored
    for name in stored:
        assert name in readme, f"deploy/schemas/README.md does not name {name}"


def test_validation_refuses_mistakes():
    """The schemas catch what a typo or a wrong type would break in a cluster: they are strict."""
    runtime = one("ClusterServingRuntime")
    cases = []
    bad = copy.deepcopy(runtime)
    bad["spec"]["supportedModelFormats"][0]["autoselect"] = True  # autoSelect misspelled
    cases.append(bad)
    bad = copy.deepcopy(runtime)
    bad["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = 8080
    cases.append(bad)
    bad = copy.deepcopy(runtime)
    bad["spec"]["protocolVersions"] = "v2"
    cases.append(bad)
    deployment = copy.deepcopy(one("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["arg"] = ["serve"]
    cases.append(deployment)
    hpa = copy.deepcopy(one("HorizontalPodAutoscaler"))
    del hpa["spec"]["scaleTargetRef"]["name"]
    cases.append(hpa)
    scaled = copy.deepcopy(one("ScaledObject"))
    scaled["spec"]["triggers"][0]["metadata"] = "query"
    cases.append(scaled)
    isvc = copy.deepcopy(one("InferenceService"))
    isvc["spec"]["predictor"]["model"]["storageURI"] = isvc["spec"]["predictor"]["model"].pop("storageUri")
    cases.append(isvc)
    for case in cases:
        assert errors(case), f"{case['kind']}: a broken manifest validated"


# -- container args, ports and probes --------------------------------------------------------------

def parse_flags(args: list[str]) -> dict[str, str]:
    """`--flag=value` and `--flag value` pairs (the last value of a repeated flag)."""
    flags, i = {}, 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--") and "=" in arg:
            name, value = arg.split("=", 1)
            flags[name] = value
        elif arg.startswith("--") and i + 1 < len(args) and not args[i + 1].startswith("--"):
            flags[arg] = args[i + 1]
            i += 1
        i += 1
    return flags


def listener_port_flags() -> set[str]:
    """Every listener's port flag of `swerve serve` (its help lists them)."""
    return set(re.findall(r"(--[a-z][a-z-]*-port)\b", serve_help()))


def resolve_port(port, container: dict) -> int:
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    assert port in named, f"port {port!r} is not a named port of the container ({named})"
    return named[port]


class ManifestServer:
    """`swerve` started with a manifest container's args, then every listener moved to a free port
    of 127.0.0.1 and the repository to `repository` by flags appended after the manifest's."""

    def __init__(self, container: dict, repository: Path, log_path: Path, name: str):
        self.args = [a.replace("{{.Name}}", name) for a in container["args"]]
        assert not container.get("command"), "the image's entry point (swerve) runs the args"
        flags = parse_flags(self.args)
        self.moved = {}  # the manifest's port -> the port here
        extra = []
        for flag, value in flags.items():
            if flag.endswith("-port") and int(value) != 0:
                self.moved[int(value)] = free_port()
                extra.append(f"{flag}={self.moved[int(value)]}")
        repository_flags = [f for f in ("--model-store", "--model-repository") if f in flags]
        assert len(repository_flags) == 1, flags
        extra += [f"{repository_flags[0]}={repository}", "--http-address=127.0.0.1", "--grpc-address=127.0.0.1",
                  f"--onnxruntime-lib={onnxruntime_library()}"]
        self.command = [str(swerve_binary()), *self.args, *extra]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> "ManifestServer":
        with open(self.log_path, "ab") as log:
            log.write(f"$ {' '.join(self.command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def url(self, manifest_port: int, path: str) -> str:
        assert manifest_port in self.moved, f"port {manifest_port} is not one the args give a listener ({sorted(self.moved)})"
        return f"http://127.0.0.1:{self.moved[manifest_port]}{path}"

    def wait_for(self, url: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"swerve exited with {self.process.returncode}:\n{self.log_tail()}"
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{url} not 200 within {READY_TIMEOUT_S} s:\n{self.log_tail()}")

    def stop_and_check(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(15)
        assert self.process.returncode == 0, f"exit {self.process.returncode}:\n{self.log_tail()}"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])


def check_ports_and_probes(server: ManifestServer, container: dict, metrics: tuple[int, str]) -> None:
    """The listeners the args name are the container's ports (and the metrics port); every probe
    answers 200 on the port it names; the metrics endpoint answers on its annotated port."""
    flags = parse_flags(server.args)
    assert {f for f in flags if f.endswith("-port")} == listener_port_flags(), (
        "the args must give every listener its port (0 turns one off), so the ports served are the ports declared")
    served = {int(v) for f, v in flags.items() if f.endswith("-port") and int(v) != 0}
    declared = {p["containerPort"] for p in container["ports"]}
    assert declared <= served and served - declared <= {metrics[0]}, (served, declared, metrics)
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container[kind]["httpGet"]
        url = server.url(resolve_port(probe["port"], container), probe["path"])
        assert requests.get(url, timeout=5).status_code == 200, (kind, url)
    response = requests.get(server.url(*metrics), timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain"), response.status_code


def scaling_queries() -> dict[str, str]:
    """Every PromQL query of the manifests: prometheus-adapter's rule (its template filled in as
    the adapter fills it), KEDA's trigger and the InferenceService's autoscaling metric."""
    rules = yaml.safe_load(one("ConfigMap")["data"]["config.yaml"])["rules"]
    queries = {}
    for rule in rules:
        filled = (rule["metricsQuery"].replace("<<.GroupBy>>", "namespace, pod").replace("<<.Series>>", IN_FLIGHT)
                  .replace("<<.LabelMatchers>>", 'namespace="default",pod=~"swerve-.*"'))
        queries[f"adapter {rule['name']['as']}"] = filled
        queries[f"adapter seriesQuery {rule['name']['as']}"] = rule["seriesQuery"]
    for trigger in one("ScaledObject")["spec"]["triggers"]:
        queries["keda"] = trigger["metadata"]["query"]
    for metric in one("InferenceService")["spec"]["predictor"]["autoScaling"]["metrics"]:
        queries["inferenceservice"] = metric["external"]["metric"]["query"]
    return queries


def test_kserve_runtime_args_start_swerve_and_its_probes_answer(tmp_path, logs):
    """KServe's storage initializer puts a single model at /mnt/models/model.onnx; the runtime's
    args serve it under the InferenceService's name ({{.Name}}), over v2 and v1."""
    runtime = one("ClusterServingRuntime")
    container = runtime["spec"]["containers"][0]
    annotations = runtime["spec"]["annotations"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http1": 8080, "h2c": 9000}
    assert annotations["prometheus.kserve.io/port"] == annotations["prometheus.io/port"]
    metrics = (int(annotations["prometheus.kserve.io/port"]), annotations["prometheus.kserve.io/path"])
    flags = parse_flags(container["args"])
    assert (flags["--http-port"], flags["--grpc-port"], flags["--model-store"]) == ("8080", "9000", "/mnt/models")
    repository = tmp_path / "mnt-models"
    repository.mkdir()
    (repository / "model.onnx").write_bytes(model_factory.plus_constant(1.0).SerializeToString())
    server = ManifestServer(container, repository, logs / "manifest-runtime.log", name="my-isvc").start()
    try:
        server.wait_for(server.url(8080, "/v2/health/ready"))
        check_ports_and_probes(server, container, metrics)
        assert requests.get(server.url(8080, "/v2/models/my-isvc/ready"), timeout=5).status_code == 200
        assert "v1" in runtime["spec"]["protocolVersions"]
        assert requests.get(server.url(8080, "/v1/models/my-isvc"), timeout=5).json() == {"name": "my-isvc", "ready": True}
        r = requests.post(server.url(8080, "/v1/models/my-isvc:predict"), json={"instances": [[1, 2, 3, 4]]}, timeout=10)
        assert r.json() == {"predictions": [[2, 3, 4, 5]]}, r.text
        server.stop_and_check()
    finally:
        server.kill()


def test_deployment_args_start_swerve_and_its_probes_service_and_queries_fit(tmp_path, logs):
    deployment = one("Deployment")
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    annotations = pod["metadata"]["annotations"]
    metrics = (int(annotations["prometheus.io/port"]), annotations["prometheus.io/path"])
    repository = tmp_path / "models"
    model_factory.save(repository, "plus", model_factory.plus_constant(1.0))
    # The repository volume is mounted where the args look for it, read-only.
    mount = next(m for m in container["volumeMounts"] if m["name"] == "models")
    assert parse_flags(container["args"])["--model-repository"] == mount["mountPath"] and mount["readOnly"] is True
    server = ManifestServer(container, repository, logs / "manifest-deployment.log", name="unused").start()
    try:
        server.wait_for(server.url(resolve_port(container["readinessProbe"]["httpGet"]["port"], container), "/v2/health/ready"))
        check_ports_and_probes(server, container, metrics)
        # The Service sends each of its ports to a port the container declares, and selects the pods.
        service = one("Service")
        assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
        for port in service["spec"]["ports"]:
            resolve_port(port["targetPort"], container)
        # One request, so the gauges of the model have been written at least once.
        http = resolve_port("http", container)
        body = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
        assert requests.post(server.url(http, "/v2/models/plus/infer"), json=body, timeout=10).status_code == 200
        exported = requests.get(server.url(*metrics), timeout=5).text
        for where, query in scaling_queries().items():
            for name in set(re.findall(r"\b(swerve_[a-z_]+|nv_[a-z_]+)\b", query)):
                assert re.search(rf"^{name}{{", exported, re.M), f"{where}: {name} is not exported by swerve"
            assert IN_FLIGHT in query, where
            # Summed over models and pods; an average over series under-reports a pod whose other
            # models are idle (triton-inference-server#8979).
            assert not re.search(r"\bavg\s*(\(|by\b|without\b)", query), f"{where}: {query}"
            if "seriesQuery" not in where:
                assert re.match(r"^sum\b", query), f"{where}: {query}"
        server.stop_and_check()
    finally:
        server.kill()


def test_autoscalers_name_the_deployment_and_the_published_metric():
    deployment = one("Deployment")
    for scaler in (one("HorizontalPodAutoscaler"), one("ScaledObject")):
        target = scaler["spec"]["scaleTargetRef"]
        assert (target.get("apiVersion", "apps/v1"), target.get("kind", "Deployment"), target["name"]) == \
            ("apps/v1", "Deployment", deployment["metadata"]["name"]), scaler["kind"]
    rules = yaml.safe_load(one("ConfigMap")["data"]["config.yaml"])["rules"]
    published = {rule["name"]["as"] for rule in rules}
    for metric in one("HorizontalPodAutoscaler")["spec"]["metrics"]:
        assert metric["type"] == "Pods" and metric["pods"]["metric"]["name"] in published, metric
    assert one("ScaledObject")["spec"]["minReplicaCount"] >= 1, "scaled to zero, no request would be in flight to wake it"
    isvc = one("InferenceService")
    assert isvc["spec"]["predictor"]["model"]["runtime"] == one("ClusterServingRuntime")["metadata"]["name"]
    formats = {f["name"] for f in one("ClusterServingRuntime")["spec"]["supportedModelFormats"]}
    assert isvc["spec"]["predictor"]["model"]["modelFormat"]["name"] in formats
