"""Converts CustomResourceDefinitions into strict JSON schemas laid out for kubeconform's
`-schema-location <dir>/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json`.

Strict means an object that lists its properties rejects any other property, exactly as the
API server prunes unknown fields, except where the CRD opts out with
`x-kubernetes-preserve-unknown-fields: true` (the server keeps anything there, so must we).
OpenAPI's `nullable: true` becomes a JSON-schema `null` type.

Usage: python crd_schemas.py <destination-dir> <crd.yaml>...
"""

import json
import sys
from pathlib import Path

import yaml

PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"
ROOT_FIELDS = {"apiVersion": "string", "kind": "string", "metadata": "object"}


def strict(node):
    """Returns a strict copy of one OpenAPI v3 schema node."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: strict(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True and "type" in result:
        result["type"] = [result["type"], "null"]
    if "properties" in node and not node.get(PRESERVE_UNKNOWN) and "additionalProperties" not in node:
        result["additionalProperties"] = False
    return result


def schemas_of(crd, source):
    if crd.get("kind") != "CustomResourceDefinition":
        raise SystemExit(f"{source}: expected a CustomResourceDefinition, found kind {crd.get('kind')!r}")
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    for version in spec["versions"]:
        openapi = version.get("schema", {}).get("openAPIV3Schema")
        if openapi is None:
            raise SystemExit(f"{source}: {kind} {version['name']} has no openAPIV3Schema")
        schema = strict(openapi)
        # The API server accepts these on every object, whether or not the CRD lists them
        # (policy-controller's CRDs list only spec and status).
        for field, kind_of in ROOT_FIELDS.items():
            schema.setdefault("properties", {}).setdefault(field, {"type": kind_of})
        schema["$schema"] = "http://json-schema.org/draft-04/schema#"
        yield group, kind, version["name"], schema


def main(argv):
    if len(argv) < 3:
        raise SystemExit("usage: crd_schemas.py <destination-dir> <crd.yaml>...")
    destination = Path(argv[1])
    for source in argv[2:]:
        with open(source, encoding="utf-8") as handle:
            documents = [doc for doc in yaml.safe_load_all(handle) if doc]
        if not documents:
            raise SystemExit(f"{source}: no YAML documents")
        for crd in documents:
            for group, kind, version, schema in schemas_of(crd, source):
                target = destination / group / f"{kind.lower()}_{version}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("w", encoding="utf-8") as handle:
                    json.dump(schema, handle, indent=1, sort_keys=True)
                print(f"wrote {target} ({kind} {group}/{version})")


if __name__ == "__main__":
    main(sys.argv)
