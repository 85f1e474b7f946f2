"""Independent verifier for the PEP 740 attestations pypi-oidc-publish uploads.

Runs pypi-attestations' own `Attestation.verify` (statement subject and digest against the
dist, predicate type) on top of sigstore-python's `Verifier.verify_dsse` (DSSE signature,
certificate chain to the trusted root's CA, embedded SCT, Rekor inclusion proof, signed
checkpoint and signed entry timestamp, log entry body vs. bundle, the Trusted Publisher
identity policy). The Verifier is built from a local trusted root: no TUF, no network.

Usage:
  verify_attestation.py --trusted-root ROOT.json --attestations FORM.json --dist FILE \
      --repository OWNER/REPO --workflow FILE.yml
  verify_attestation.py --production --attestation FILE.publish.attestation \
      --name DIST_NAME --sha256 HEX
      (a real production attestation, against the production trusted root that ships inside
      sigstore-python; the identity is not checked)

Prints one JSON line per verified attestation; exits 1 with the reason on any failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pypi_attestations._impl as impl
import sigstore
from pypi_attestations import Attestation, Distribution, GitHubPublisher
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier, policy


def local_verifier(trusted_root: TrustedRoot) -> None:
    """Make `Attestation.verify` use a Verifier for `trusted_root` instead of fetching the
    production one over TUF."""

    class LocalVerifier(Verifier):
        @classmethod
        def production(cls, *, offline: bool = False) -> Verifier:  # noqa: ARG003
            return Verifier(trusted_root=trusted_root)

    impl.Verifier = LocalVerifier


def production_trusted_root() -> TrustedRoot:
    store = Path(sigstore.__file__).parent / "_store"
    return TrustedRoot.from_file(str(store / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev" / "trusted_root.json"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trusted-root")
    parser.add_argument("--attestations", help="the `attestations` form field: a JSON array")
    parser.add_argument("--dist")
    parser.add_argument("--repository")
    parser.add_argument("--workflow")
    parser.add_argument("--production", action="store_true")
    parser.add_argument("--attestation", help="one attestation object (JSON)")
    parser.add_argument("--name")
    parser.add_argument("--sha256")
    args = parser.parse_args()

    try:
        if args.production:
            local_verifier(production_trusted_root())
            attestation = Attestation.model_validate_json(Path(args.attestation).read_bytes())
            dist = Distribution(name=args.name, digest=args.sha256)
            predicate_type, _ = attestation.verify(policy.UnsafeNoOp(), dist)
            print(json.dumps({"file": dist.name, "predicate_type": predicate_type, "verified": True}))
            return 0

        local_verifier(TrustedRoot.from_file(args.trusted_root))
        form = json.loads(Path(args.attestations).read_text())
        if not isinstance(form, list) or len(form) != 1:
            raise ValueError(f"expected a JSON array with one attestation, got {form!r:.200}")
        dist = Distribution.from_file(Path(args.dist))
        publisher = GitHubPublisher(repository=args.repository, workflow=args.workflow)
        for raw in form:
            attestation = Attestation.model_validate(raw)
            predicate_type, predicate = attestation.verify(publisher, dist)
            print(
                json.dumps(
                    {
                        "file": dist.name,
                        "predicate_type": predicate_type,
                        "predicate": predicate,
                        "verified": True,
                    }
                )
            )
    except Exception as error:  # noqa: BLE001 - every failure is a verdict to report
        print(f"NOT VERIFIED: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
