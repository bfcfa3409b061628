"""Copies the strict Kubernetes JSON schemas bundled in the kubernetes-validate wheel into a
directory kubeconform can read offline.

The bundled schemas carry web `$id`s and reference their shared definitions by the absolute
path `/api/_definitions.json`, which resolves against that web `$id`. Dropping `$id` makes every
schema resolve relative to its own file, so the references are rewritten to the sibling file.

Usage: python kubernetes_schemas.py <kubernetes-version> <destination-dir>
"""

import json
import os
import sys
from pathlib import Path

import kubernetes_validate

REMOTE_DEFINITIONS = "/api/_definitions.json"
LOCAL_DEFINITIONS = "_definitions.json"
NAME_MAPS = {"properties", "$defs", "definitions", "patternProperties"}


def localize(node, file_name):
    """Returns `node` without `$id`s and with every `$ref` pointing at a local file."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "$id":
                continue
            if key == "$ref":
                result[key] = local_ref(value, file_name)
            elif key in NAME_MAPS and isinstance(value, dict):
                # Keys here are property or definition names (JSONSchemaProps has one called
                # "$ref"), not schema keywords.
                result[key] = {name: localize(schema, file_name) for name, schema in value.items()}
            else:
                result[key] = localize(value, file_name)
        return result
    if isinstance(node, list):
        return [localize(item, file_name) for item in node]
    return node


def local_ref(ref, file_name):
    if ref.startswith("#"):
        return ref
    if ref.startswith(REMOTE_DEFINITIONS + "#"):
        return LOCAL_DEFINITIONS + ref[len(REMOTE_DEFINITIONS):]
    raise SystemExit(f"{file_name}: unexpected $ref {ref!r}; the converter only knows {REMOTE_DEFINITIONS}")


def main(argv):
    if len(argv) != 3:
        raise SystemExit("usage: kubernetes_schemas.py <kubernetes-version, e.g. 1.34.0> <destination-dir>")
    version, destination = argv[1], Path(argv[2])
    package_dir = Path(os.path.dirname(kubernetes_validate.__file__))
    source = package_dir / "kubernetes-json-schema" / f"v{version}-local-strict"
    if not source.is_dir():
        bundled = sorted(p.name for p in (package_dir / "kubernetes-json-schema").iterdir())
        raise SystemExit(f"kubernetes-validate does not bundle Kubernetes v{version}; it has: {', '.join(bundled)}")
    destination.mkdir(parents=True, exist_ok=True)
    count = 0
    for schema_file in sorted(source.glob("*.json")):
        with schema_file.open(encoding="utf-8") as handle:
            schema = json.load(handle)
        with (destination / schema_file.name).open("w", encoding="utf-8") as handle:
            json.dump(localize(schema, schema_file.name), handle, indent=1, sort_keys=True)
        count += 1
    if LOCAL_DEFINITIONS not in {p.name for p in source.glob("*.json")}:
        raise SystemExit(f"{source} has no {LOCAL_DEFINITIONS}")
    print(f"wrote {count} Kubernetes v{version} schemas to {destination}")


if __name__ == "__main__":
    main(sys.argv)
