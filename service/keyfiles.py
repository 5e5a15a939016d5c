"""Private files: keys (PEM PKCS#8) and the store's own files, mode 0600 in 0700
directories. A key file is never overwritten."""

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)


class KeyFileError(ValueError):
    """A key file that is missing, unreadable, or not an Ed25519 private key."""


PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> None:
    """Create the directory `path` (and missing parents) readable by its owner only.

    Only directories this creates are restricted: a directory the caller already
    had (the working directory a key is written into) is left as it was."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR)
        directory.chmod(PRIVATE_DIR)  # mkdir's mode is masked by the umask


def private_file(path: Path) -> None:
    """Make `path` (created empty if missing) readable and writable by its owner only."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    path.chmod(PRIVATE_FILE)


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    write_secret(path, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))


def write_secret(path: Path, data: bytes) -> None:
    """Create `path` readable by its owner only; never replace an existing key."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def read_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 private key")
    return key


def load_or_create(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        return read_private_key(path)
    key = Ed25519PrivateKey.generate()
    write_private_key(path, key)
    return key
