"""API keys for the intake API: looked up by the hash of the presented key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ApiKey


async def insert_api_key(
    session: AsyncSession, *, name: str, key_hash: str, prefix: str, now: datetime
) -> ApiKey:
    row = ApiKey(name=name, key_hash=key_hash, prefix=prefix, created_at=now)
    session.add(row)
    await session.flush()
    return row


async def api_key_exists(session: AsyncSession, name: str) -> bool:
    return (await session.scalar(select(ApiKey.id).where(ApiKey.name == name))) is not None


async def active_key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )


async def touch_api_key(session: AsyncSession, key_id: int, now: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
