"""Intake API keys: generated once, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

from bot.clock import Clock
from store import apikeys as key_store
from store.db import Database

KEY_PREFIX = "lb_"


class ApiKeyNameTaken(ValueError):
    pass


def hash_api_key(raw: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


async def create_api_key(db: Database, clock: Clock, name: str) -> str:
    """Create a key called `name` and return the raw key (the only time it exists)."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    async with db.transaction() as session:
        if await key_store.api_key_exists(session, name):
            raise ApiKeyNameTaken(f"an API key named {name!r} already exists")
        await key_store.insert_api_key(
            session, name=name, key_hash=hash_api_key(raw), prefix=raw[:10], now=clock.now()
        )
    return raw


async def authenticate_api_key(db: Database, clock: Clock, raw: str) -> int | None:
    """The key's id if `raw` is a live key, else None."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    async with db.reading() as session:
        key = await key_store.active_key_by_hash(session, hash_api_key(raw))
        return key.id if key else None
