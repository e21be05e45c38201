"""Encrypted columns: attribute access reads and writes plaintext, the database sees ciphertext."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from voice.pii import keyring


class EncryptedText(sa.types.TypeDecorator[str]):
    """A string column stored AES-GCM-encrypted under the active keyring.

    ``context`` names the column and is bound into each ciphertext (see ``keyring``).
    Equality queries against such a column cannot work (every encryption differs); exact-match
    lookups go through a blind-index column instead.
    """

    impl = sa.Text
    cache_ok = True

    def __init__(self, context: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring.active().encrypt(value, context=self.context)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring.active().decrypt(value, context=self.context)
