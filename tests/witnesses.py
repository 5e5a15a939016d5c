"""Test helpers for witnesses: a real `appraisal witness serve` on a free port, and a
cosignature verifier written from the C2SP text alone (not the product's)."""

import base64
import hashlib
import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

STARTUP_SECONDS = 30
CLI = [sys.executable, "-c", "from entrypoints.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spec_verify_cosignature(note: str, vkey: str) -> int:
    """c2sp.org/tlog-cosignature (Ed25519) and c2sp.org/signed-note read literally: the
    timestamp of the cosignature by `vkey` on `note`, or an exception."""
    name, key_id_hex, encoded = vkey.split("+", 2)
    material = base64.b64decode(encoded)
    assert material[0] == 0x04, "an Ed25519 cosigner vkey has signature type 0x04"
    public_key = material[1:]
    key_id = hashlib.sha256(name.encode() + b"\n" + b"\x04" + public_key).digest()[:4]
    assert key_id.hex() == key_id_hex
    text, _, signatures = note.rpartition("\n\n")
    body = text + "\n"
    for line in signatures.splitlines():
        dash, line_name, signature = line.split(" ")
        assert dash == "\u2014"
        raw = base64.b64decode(signature)
        if line_name != name or raw[:4] != key_id:
            continue
        assert len(raw) == 4 + 8 + 64
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        message = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + body.encode()
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw[12:], message)
        return timestamp
    raise AssertionError(f"no cosignature by {name}")


def new_witness_key(path: Path, name: str) -> str:
    """`appraisal witness new-key`; returns the vkey it prints."""
    done = subprocess.run(
        [*CLI, "witness", "new-key", "--name", name, "-o", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


class RunningWitness:
    """`appraisal witness serve` in a subprocess; `restart()` stops and starts it again."""

    def __init__(self, key: Path, logs: Sequence[str], state: Path, log: Path) -> None:
        self.key, self.logs, self.state, self.log = key, list(logs), state, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [*CLI, "witness", "serve", "--key", str(self.key), "--state", str(self.state)]
        for vkey in self.logs:
            command += ["--log", vkey]
        with self.log.open("ab") as output:
            self._process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                stdout=output,
                stderr=output,
                env=os.environ.copy(),
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert self._process.poll() is None, self.log.read_text()
            try:
                requests.get(f"{self.url}/none/checkpoint", timeout=2)
                return
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def add_checkpoint(self, old: int, proof: Sequence[bytes], note: str) -> requests.Response:
        lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
        body = f"old {old}\n{lines}\n{note}".encode()
        return requests.post(f"{self.url}/add-checkpoint", data=body, timeout=10)


@contextmanager
def running_witness(
    directory: Path, logs: Sequence[str], name: str = "district.example/witness"
) -> Iterator[tuple[RunningWitness, str]]:
    """A started witness for `logs` with a fresh key; yields it and its vkey."""
    directory.mkdir(parents=True, exist_ok=True)
    vkey = new_witness_key(directory / "witness.key", name)
    witness = RunningWitness(
        directory / "witness.key", logs, directory / "state", directory / "witness.log"
    )
    witness.start()
    try:
        yield witness, vkey
    finally:
        witness.stop()
