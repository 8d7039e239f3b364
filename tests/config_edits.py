"""Helpers for configuration tests: edit a known-good file, collect what the loader says."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.config import ConfigError, ConfigProblem, parse_config


def editor(base: str) -> Callable[..., str]:
    """`edit(*(old, new))`: `base` with each line replaced; `old` must occur exactly once."""

    def edit(*changes: tuple[str, str]) -> str:
        text = base
        for old, new in changes:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        return text

    return edit


def problems_of(text: str) -> list[ConfigProblem]:
    """Every problem the loader reports for `text` (which must not load)."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="leadbot.yaml")
    return caught.value.problems
