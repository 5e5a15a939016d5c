"""`appraisal credentials issue`: print-and-forget one-time credentials for a meeting.

N fresh Ed25519 key pairs; each private key goes only onto its slip, inside the URL
fragment of the slip's QR code (browsers never send a fragment to a server), and is
kept nowhere else. What the organiser keeps is the public keys, printed sorted (an
order unrelated to the print order, so a slip's serial cannot be matched to its key)
as the ``credentials`` of a ready-to-sign ``balloting.open`` body, or signed and sent
with ``--submit``. The fragment format is in docs/DECISIONS.md ("Credential slips").
"""

import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from domain import envelope as envelopes
from domain.campaign import Campaign
from domain.canonical import b64url_encode
from domain.keys import encode_public_key, raw_public_key
from entrypoints.cli import err, one_line_errors, read_json
from entrypoints.slips_pdf import Slip, write_slips
from service.keyfiles import read_private_key
from service.settings import Settings, SettingsError
from service.system import NotInitialised, System

MAX_SLIPS = 10_000
FRAGMENT_VERSION = "v1"
TIMEOUT_SECONDS = 10


def slip_url(base_url: str, meeting_id: str, group: str, serial: str, key: bytes) -> str:
    """The ballot page's address for one slip: ``{base}/ballot#v=1&m=…&g=…&s=…&k=…``,
    ``k`` the base64url raw 32-byte private key (RFC 8032 seed)."""
    fragment = f"v={FRAGMENT_VERSION}&m={meeting_id}&g={group}&s={serial}&k={b64url_encode(key)}"
    return f"{base_url.rstrip('/')}/ballot#{fragment}"


def _private_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


@click.group()
def credentials() -> None:
    """One-time ballot credentials for anonymous groups, on printed slips."""


@credentials.command("issue")
@click.option("--campaign", "campaign_id", required=True, type=click.UUID)
@click.option("--meeting", "meeting_id", required=True, type=click.UUID)
@click.option("--group", required=True, help="The anonymous group's code, e.g. resident_rep.")
@click.option("--count", required=True, type=click.IntRange(1, MAX_SLIPS))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The slips' PDF (with --json: their JSON, '-' for standard output).",
)
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Where voters open the ballot page (the app's address as seen from their phones).",
)
@click.option("--title", help="Printed on slips (default: the campaign's title, from the store).")
@click.option("--label", help="The group's name on slips (default: its label, from the store).")
@click.option(
    "--json", "as_json", is_flag=True, help="Write the slips as JSON (kiosks, tests), not a PDF."
)
@click.option(
    "--into",
    "into_file",
    type=click.Path(dir_okay=False, exists=True),
    help="A balloting.open body (e.g. another group's) to add these credentials to.",
)
@click.option("--submit", is_flag=True, help="Sign balloting.open with --key and send it.")
@click.option("--key", "key_file", type=click.Path(dir_okay=False), help="Organiser's key file.")
@click.option("--server", help="The API's base URL for --submit, e.g. http://127.0.0.1:8000.")
@one_line_errors
def issue(
    campaign_id: uuid.UUID,
    meeting_id: uuid.UUID,
    group: str,
    count: int,
    output: str,
    base_url: str,
    title: str | None,
    label: str | None,
    as_json: bool,
    into_file: str | None,
    submit: bool,
    key_file: str | None,
    server: str | None,
) -> None:
    """Generate COUNT credentials, write their slips and print balloting.open's body."""
    if submit and not (key_file and server):
        raise ValueError("--submit needs --key and --server")
    if not submit and (key_file or server):
        raise ValueError("--key and --server go with --submit")
    if not group or not all(ch.isalnum() or ch in "_-" for ch in group) or not group.isascii():
        raise ValueError(f"{group!r} is not a group code (letters, digits, _ and -)")
    signer = read_private_key(Path(key_file)) if key_file else None
    meeting = str(meeting_id)
    body = _opening(str(campaign_id), meeting, read_json(into_file) if into_file else None)
    if any(entry.get("group") == group for entry in body["credentials"]):
        raise ValueError(f"{into_file} already issues credentials to group {group}")
    keys = [Ed25519PrivateKey.generate() for _ in range(count)]
    slips = [
        Slip(f"{n:04d}", slip_url(base_url, meeting, group, f"{n:04d}", _private_bytes(key)))
        for n, key in enumerate(keys, start=1)
    ]
    public_keys = [encode_public_key(raw_public_key(key)) for key in keys]
    if as_json:
        document = {
            "meeting_id": meeting,
            "group": group,
            "slips": [
                {"serial": s.serial, "public_key": p, "url": s.url}
                for s, p in zip(slips, public_keys, strict=True)
            ],
        }
        text = json.dumps(document, ensure_ascii=False, indent=2)
        if output == "-":
            click.echo(text)
        else:
            Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        if output == "-":
            raise ValueError("a PDF needs a file (-o slips.pdf)")
        if title is None or label is None:
            stored_title, stored_label = printed_names(campaign_id, group)
            title, label = title or stored_title, label or stored_label
        write_slips(Path(output), slips, title=title, group_label=label, meeting_id=meeting)
    body["credentials"].append({"group": group, "public_keys": sorted(public_keys)})
    if signer is None or server is None:
        err.print(f"{count} slips written to {output}; balloting.open's body on standard output")
        if output != "-":
            click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    body["id"] = str(uuid.uuid4())
    body["issued_at"] = envelopes.format_timestamp(datetime.now(UTC))
    try:
        accepted = _post(server, envelopes.seal(body, signer))
    except ValueError:
        if output != "-":
            Path(output).unlink()  # slips whose keys were never issued must not be handed out
        raise
    click.echo(json.dumps(accepted, ensure_ascii=False))


def printed_names(campaign_id: uuid.UUID, group: str) -> tuple[str, str]:
    """The campaign's title and the group's label from this machine's store, so a slip
    names what its ballot page will show; the group must vote with slips. Offline (no
    store), --title and --label say them instead."""
    try:
        system = System.open(Settings.from_env())
    except (NotInitialised, SettingsError, OSError) as exc:
        raise ValueError(
            f"cannot read campaign {campaign_id} here ({exc}); pass --title and --label"
        ) from None
    try:
        campaign = system.app.get(campaign_id, Campaign)
        found = campaign.rules.group(group)
    finally:
        system.close()
    if not found.anonymous:
        raise ValueError(f"group {group} votes by name, not with slips")
    return campaign.title, found.label


def _opening(campaign_id: str, meeting_id: str, given: Any) -> dict[str, Any]:
    """The balloting.open body to add credentials to: a fresh one, or ``given`` (checked to
    open the same meeting of the same campaign)."""
    if given is None:
        return {
            "type": "balloting.open",
            "campaign_id": campaign_id,
            "meeting_id": meeting_id,
            "credentials": [],
        }
    if not isinstance(given, dict) or given.get("type") != "balloting.open":
        raise ValueError("--into must be a balloting.open command body")
    if (given.get("campaign_id"), given.get("meeting_id")) != (campaign_id, meeting_id):
        raise ValueError("--into opens another campaign's or meeting's balloting")
    credentials = given.setdefault("credentials", [])
    if not isinstance(credentials, list) or not all(isinstance(c, dict) for c in credentials):
        raise ValueError("--into: credentials must be a list of objects")
    for stale in ("id", "issued_at"):  # a signed body's: this one is new
        given.pop(stale, None)
    return given


def _post(server: str, envelope: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{server.rstrip('/')}/api/v1/commands",
        data=json.dumps(envelope, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail", exc.reason)
        except ValueError:
            detail = exc.reason
        raise ValueError(f"balloting.open refused ({exc.code}): {detail}") from None
    except OSError as exc:
        raise ValueError(f"cannot reach {server}: {exc}") from None
