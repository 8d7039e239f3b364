"""A local Slack emulator for the bot's tests and demo. Never imports the bot."""

from __future__ import annotations

from sandbox.actions import Delivery
from sandbox.blockkit import validate_blocks
from sandbox.core import DEFAULT_SCOPES, Sandbox, apply_seed
from sandbox.models import InboundResult, Message, RecordedCall
from sandbox.ratelimit import RateLimitConfig

__all__ = [
    "DEFAULT_SCOPES",
    "Delivery",
    "InboundResult",
    "Message",
    "RateLimitConfig",
    "RecordedCall",
    "Sandbox",
    "apply_seed",
    "validate_blocks",
]
