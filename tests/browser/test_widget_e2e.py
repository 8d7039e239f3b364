"""Acceptance (issue 4, §1): a visitor on the sample page qualifies through the real widget,
the real bot posts the card to the sandbox Slack, and visitor and rep talk through the card's
thread. No fakes: leadbot's own server, the example script, Debian's Chromium.

Every wait is on what the page shows (Playwright `expect`) or on a call the sandbox recorded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Locator, Page, expect

from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, load_config
from sandbox import Sandbox
from tests.harness import RunningBot, card_lead_id, running_bot

SALES = "C0SALES01"
ALICE = "U0ALICE1"
UTM = "utm_source=newsletter&utm_medium=email&utm_campaign=spring"


def allowing_own_origin(bot_url: str) -> LeadbotConfig:
    """The example configuration, with the bot's own origin (which serves the sample page)
    as the one site allowed to embed the widget."""
    config = load_config(EXAMPLE_CONFIG_PATH)
    return config.model_copy(
        update={"widget": config.widget.model_copy(update={"allowed_origins": (bot_url,)})}
    )


@pytest.fixture
async def bot(database_url: str, slack: Sandbox) -> AsyncIterator[RunningBot]:
    async with running_bot(database_url, slack.api_url, config=allowing_own_origin) as running:
        slack.request_url = f"{running.url}/slack/events"
        yield running


class Widget:
    """The widget on the sample page, found the way a person (or a screen reader) finds it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.get_by_role("button", name="Open chat")
        self.panel = page.get_by_role("dialog", name="Acme Analytics")
        self.log = page.get_by_role("log", name="Conversation")
        self.field = page.get_by_role("textbox", name="Message")
        self.choices = page.get_by_role("group", name="Suggested answers")

    @property
    def last_bot_line(self) -> Locator:
        return self.log.locator(".row.bot .bubble").last

    async def say(self, text: str) -> None:
        await self.field.fill(text)
        await self.field.press("Enter")
        await expect(self.log.locator(".row.visitor").last).to_have_attribute("data-status", "sent")

    async def expect_asked(self, question: str) -> None:
        await expect(self.last_bot_line).to_have_text(question)


async def test_a_visitor_qualifies_on_the_sample_page_and_chats_with_the_rep_in_slack(
    page: Page, bot: RunningBot, slack: Sandbox
) -> None:
    await page.goto(f"{bot.url}/widget/demo?{UTM}")
    widget = Widget(page)
    await widget.launcher.click()
    await expect(widget.panel).to_be_visible()

    await widget.expect_asked("First, what's your name?")
    await widget.say("Jane Doe")
    await widget.expect_asked("Thanks! What's your work email?")
    await widget.say("jane.doe@example")  # no domain: re-asked, not accepted
    await expect(widget.last_bot_line).to_contain_text(
        "That doesn't look like an email address I can use."
    )
    await widget.say("jane.doe@example.com")
    await widget.expect_asked("Which company are you with?")
    await widget.say("Initech")
    await widget.expect_asked("Roughly how many people work there?")

    # A reload mid-way: the same conversation comes back, still waiting for the same answer.
    await page.reload()
    await expect(widget.panel).to_be_visible()
    await expect(widget.log.locator(".row.visitor .bubble")).to_have_text(
        ["Jane Doe", "jane.doe@example", "jane.doe@example.com", "Initech"]
    )
    await widget.expect_asked("Roughly how many people work there?")
    await expect(widget.field).to_have_attribute("inputmode", "numeric")

    await widget.say("250")
    await widget.expect_asked("What budget do you have in mind?")
    await widget.choices.get_by_role("button", name="Over $50k").click()
    await widget.expect_asked("When would you like to get started?")
    await widget.choices.get_by_role("button", name="This quarter").click()
    await expect(widget.last_bot_line).to_contain_text("What's the best number to call you on?")
    await widget.say("+44 20 7946 0958")
    await expect(widget.last_bot_line).to_contain_text("Thanks, that's everything I need!")

    # One card in the queue channel, with the answers and where the visitor came from.
    [post] = await slack.wait_for_call(
        "chat.postMessage", lambda c: card_lead_id(c.args.get("metadata")) is not None
    )
    card_ts = post.response["ts"]
    [card] = [m for m in slack.messages(SALES) if m.ts == card_ts]
    shown = json.dumps(card.blocks)
    for value in (
        "Jane Doe",
        "jane.doe@example.com",
        "Initech",
        "250",
        "Over $50k",
        "This quarter",
        "newsletter",
    ):
        assert value in shown, value

    # Alice claims it and replies in the thread: the visitor sees it in the widget.
    await slack.click_button(ALICE, SALES, card_ts, "Claim")
    await slack.wait_for_call("chat.update")
    await slack.post_user_message(
        ALICE, SALES, "Hi Jane, Alice here. Got a minute today?", thread_ts=card_ts
    )
    rep_line = widget.log.locator(".row.rep").last
    await expect(rep_line.locator(".bubble")).to_have_text(
        "Hi Jane, Alice here. Got a minute today?"
    )
    await expect(rep_line.locator(".name")).to_have_text("Alice Johnson")

    # The visitor answers in the widget: it lands in the card's thread.
    await widget.say("Yes, call me at 3pm")
    [relayed] = await slack.wait_for_call(
        "chat.postMessage", lambda c: c.args.get("thread_ts") == card_ts
    )
    assert relayed.args["text"] == "*Jane Doe (visitor):* Yes, call me at 3pm"
    assert [m.ts for m in slack.messages(SALES) if m.metadata] == [card_ts]
