"""`appraisal receipt verify`: a voter checks their ballot's receipt against the live log.

Only the checkpoint and the inclusion proof are fetched; the leaf, the envelope and its
signature come from the receipt and are checked by `domain.receipt`, and the checkpoint
by the log key (and witnesses' cosignatures) the voter was given.
"""

import base64
import binascii
import json
import urllib.error
import urllib.parse
import urllib.request

import click

from domain.anchors import witness_policy
from domain.audit_bundle import parse_log_key
from domain.checkpoint import CheckpointError, verify_checkpoint
from domain.cosignature import cosignatures
from domain.receipt import (
    ReceiptInvalid,
    check_covered,
    check_included,
    check_receipt,
    receipt_summary,
)
from domain.witness import log_origin
from entrypoints.cli import emit, one_line_errors, read_json

TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 1024 * 1024


@click.group()
def receipt() -> None:
    """Check a ballot's receipt without trusting the server."""


@receipt.command("verify")
@click.argument("receipt_file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--log-key", required=True, help="The log's public key (base64url).")
@click.option("--witness", "witnesses", multiple=True, help="A witness's vkey. Repeatable.")
@click.option(
    "--witness-quorum",
    type=int,
    default=None,
    help="How many of the witnesses must have cosigned the checkpoint (default: all).",
)
@click.option(
    "--url",
    "base",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The ledger's API base URL.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def verify(
    receipt_file: str,
    log_key: str,
    witnesses: tuple[str, ...],
    witness_quorum: int | None,
    base: str,
    as_json: bool,
) -> None:
    """Hash the receipt's leaf, verify the envelope inside it, fetch a signed checkpoint and
    an inclusion proof, and check that the leaf is in the signed tree."""
    key = parse_log_key(log_key)
    policy = witness_policy(witnesses, witness_quorum)
    checked = check_receipt(read_json(receipt_file))
    note = _get(f"{base.rstrip('/')}/api/v1/ledger/checkpoint").decode("utf-8", "replace")
    try:
        head = verify_checkpoint(note, log_origin(note), key)
    except CheckpointError as exc:
        raise ReceiptInvalid(f"the served checkpoint is not signed by the log key: {exc}") from None
    if policy is not None:
        try:
            count = len(cosignatures(note, policy.witnesses))
        except CheckpointError as exc:
            raise ReceiptInvalid(f"the served checkpoint: {exc}") from None
        if count < policy.quorum:
            raise ReceiptInvalid(
                f"the served checkpoint carries {count} of the {policy.quorum} witness "
                "cosignature(s) required"
            )
    check_covered(checked, head)
    query = urllib.parse.urlencode({"index": checked.index, "tree_size": head.size})
    served = _get(f"{base.rstrip('/')}/api/v1/ledger/proofs/inclusion?{query}")
    check_included(checked, head, _proof(served))
    summary = receipt_summary(checked, head)
    emit(
        summary,
        as_json,
        lambda: click.echo(
            f"receipt: OK — ballot {checked.ballot_id}, signed by {checked.envelope.signer}, is "
            f"entry {checked.index} of {head.origin}'s signed tree of {head.size} entries"
            + (f", cosigned by {policy.quorum} witness(es)" if policy else "")
        ),
    )


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        raise ValueError(f"GET {url} answered {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot GET {url}: {exc}") from None


def _proof(served: bytes) -> list[bytes]:
    """The proof hashes of the served inclusion proof; its other members are ignored."""
    try:
        hashes = json.loads(served)["proof"]
        return [base64.b64decode(h, validate=True) for h in hashes]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ReceiptInvalid("the served inclusion proof is malformed") from None
