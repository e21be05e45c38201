"""The accounting writer the application started (group commit of self-service reads)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from voice.audit.group_commit import AccountingWriter


async def get_accounting_writer(request: Request) -> AccountingWriter:
    writer: AccountingWriter = request.app.state.accounting_writer
    return writer


AccountingWriterDep = Annotated[AccountingWriter, Depends(get_accounting_writer)]
