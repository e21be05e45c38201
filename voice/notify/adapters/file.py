"""The embedded default: each message becomes one file in a folder.

Files are named after the notification's reference and written by atomic rename, so a resend
after a crash replaces the same file instead of adding a second message.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from voice.notify.adapters.base import DeliveryError, OutgoingEmail, OutgoingSms
from voice.notify.adapters.mime import build_mime


def _write_atomically(path: Path, data: bytes) -> None:
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            # A half-written message must not linger beside the finished ones.
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise DeliveryError(f"file adapter: {type(exc).__name__}", retryable=True) from exc


class FileEmailSender:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, *, message: OutgoingEmail) -> str:
        mime = build_mime(message)
        path = self.folder / f"{message.reference}.eml"
        _write_atomically(path, bytes(mime))
        return path.name


class FileSmsSender:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, *, message: OutgoingSms) -> str:
        body = {
            "to": message.to,
            "from": message.sender,
            "body": message.body,
            "reference": message.reference,
        }
        path = self.folder / f"{message.reference}.json"
        _write_atomically(path, json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8"))
        return path.name
