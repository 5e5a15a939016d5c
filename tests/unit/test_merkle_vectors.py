"""The verifier against every shared transparency-dev vector (DESIGN.md §6).

The vectors live in ../shared/vectors/merkle next to the repository;
APPRAISAL_VECTORS_DIR overrides the shared `vectors` directory.
"""

import base64
import json
import os
from pathlib import Path

import pytest

from domain.merkle import ProofError, verify_consistency, verify_inclusion

VECTORS_DIR = Path(
    os.environ.get("APPRAISAL_VECTORS_DIR")
    or Path(__file__).resolve().parents[3] / "shared" / "vectors"
)
MERKLE_DIR = VECTORS_DIR / "merkle"
# The shared set holds 98 of each; fewer means a path or glob bug.
MIN_VECTORS = 98


def _vectors(kind: str) -> list[Path]:
    return sorted((MERKLE_DIR / kind).glob("**/*.json"))


INCLUSION = _vectors("inclusion")
CONSISTENCY = _vectors("consistency")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(MERKLE_DIR)) for p in paths]


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _proof(vector: dict) -> list[bytes]:
    return [_b64(h) for h in vector["proof"] or []]


def test_vectors_are_present() -> None:
    assert MERKLE_DIR.is_dir(), f"missing vectors directory {MERKLE_DIR}"
    assert len(INCLUSION) >= MIN_VECTORS, f"found {len(INCLUSION)} inclusion vectors"
    assert len(CONSISTENCY) >= MIN_VECTORS, f"found {len(CONSISTENCY)} consistency vectors"


@pytest.mark.parametrize("path", INCLUSION, ids=_ids(INCLUSION))
def test_inclusion_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    try:
        verify_inclusion(
            _b64(v["leafHash"]), v["leafIdx"], v["treeSize"], _proof(v), _b64(v["root"])
        )
    except ProofError:
        rejected = True
    else:
        rejected = False
    assert rejected == v["wantErr"], v["desc"]


@pytest.mark.parametrize("path", CONSISTENCY, ids=_ids(CONSISTENCY))
def test_consistency_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    try:
        verify_consistency(v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), _proof(v))
    except ProofError:
        rejected = True
    else:
        rejected = False
    assert rejected == v["wantErr"], v["desc"]
