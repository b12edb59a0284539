#!/usr/bin/env python3
"""Writes the JSON schemas in this folder from their published sources (README.md names each
source and version). Run it only to move to another version; tests/integration/test_manifests.py
reads the files it wrote. Needs PyYAML.

usage:
  extract.py kubernetes WHEEL VERSION     WHEEL: kubernetes_validate-*.whl (PyPI), VERSION e.g. v1.30.0
  extract.py crd CRD.yaml OUT.json        a CustomResourceDefinition: its served storage version's
                                          openAPIV3Schema, unchanged

Kubernetes: the wheel holds yannh/kubernetes-json-schema-style "local-strict" schemas (JSON Schema
2020-12, additionalProperties false) whose references point into one shared _definitions.json of
every type. Each kind named in KINDS is written standalone: the definitions it reaches, and only
those, copied into its own "$defs", the references rewritten to point there. Nothing else changes.
"""
from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

# The Kubernetes kinds deploy/ uses, by the file name the wheel gives each.
KINDS = ["deployment-apps-v1", "service-v1", "configmap-v1", "persistentvolumeclaim-v1",
         "horizontalpodautoscaler-autoscaling-v2"]

REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")


def write(path: Path, schema: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"wrote {path.relative_to(HERE)} ({path.stat().st_size} bytes)")


def standalone(schema: dict, definitions: dict) -> dict:
    """`schema` with the definitions it reaches in its own $defs and its references to them local."""
    reached: dict[str, dict] = {}

    def visit(node):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    match = REF.match(value)
                    if not match:
                        raise SystemExit(f"unexpected reference {value!r}")
                    name = match.group(1)
                    if name not in reached:
                        reached[name] = {}  # placeholder: cycles stop here
                        reached[name] = visit(definitions[name])
                    out[key] = f"#/$defs/{name}"
                else:
                    out[key] = visit(value)
            return out
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    result = visit(schema)
    result["$defs"] = dict(sorted(reached.items()))
    return result


def kubernetes(wheel: str, version: str) -> None:
    folder = f"kubernetes_validate/kubernetes-json-schema/{version}-local-strict/"
    with zipfile.ZipFile(wheel) as archive:
        definitions = json.loads(archive.read(folder + "_definitions.json"))["$defs"]
        for kind in KINDS:
            schema = json.loads(archive.read(folder + f"{kind}.json"))
            write(HERE / f"kubernetes-{version}" / f"{kind}.json", standalone(schema, definitions))


def crd(source: str, out: str) -> None:
    document = yaml.safe_load(Path(source).read_text())
    assert document["kind"] == "CustomResourceDefinition", document["kind"]
    versions = [v for v in document["spec"]["versions"] if v.get("served") and v.get("storage")]
    assert len(versions) == 1, [v["name"] for v in document["spec"]["versions"]]
    write(Path(out).resolve(), versions[0]["schema"]["openAPIV3Schema"])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "kubernetes":
        kubernetes(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "crd":
        crd(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
