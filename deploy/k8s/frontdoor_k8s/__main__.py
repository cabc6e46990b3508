"""`python -m frontdoor_k8s generate | check | render OVERLAY | validate` (deploy/k8s on PYTHONPATH)."""

from __future__ import annotations

import argparse
import sys

import yaml

from . import generate, kustomize, validate

OVERLAYS = ("development", "production")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m frontdoor_k8s", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("generate", help="write deploy/k8s/base/ from the declarations")
    commands.add_parser("check", help="exit 1 if deploy/k8s/base/ differs from a fresh generation")
    render = commands.add_parser("render", help="print an overlay's manifests (what kubectl apply -k applies)")
    render.add_argument("overlay", choices=OVERLAYS)
    commands.add_parser("validate", help="validate every overlay's rendered manifests against the schemas")
    args = parser.parse_args(argv)
    if args.command == "generate":
        for path in generate.write():
            print(f"wrote {path.relative_to(generate.K8S.parent.parent)}")
        return 0
    if args.command == "check":
        stale = generate.differences()
        for relative in stale:
            print(f"deploy/k8s/base/{relative} differs from a fresh generation: run make k8s", file=sys.stderr)
        return 1 if stale else 0
    if args.command == "render":
        documents = kustomize.render(generate.K8S / "overlays" / args.overlay)
        print("---\n".join(yaml.safe_dump(d, sort_keys=False, width=120) for d in documents), end="")
        return 0
    failed = False
    for overlay in OVERLAYS:
        found = validate.check(kustomize.render(generate.K8S / "overlays" / overlay))
        for problem in found:
            print(f"{overlay}: {problem}", file=sys.stderr)
        failed = failed or bool(found)
        print(f"{overlay}: {'invalid' if found else 'valid'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
