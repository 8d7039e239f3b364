"""The chat widget in a real browser, against a scripted server that speaks the protocol.

The widget is embedded in a host page with hostile CSS; the fake server plays leadbot's
side of docs/widget-protocol.md. Every wait is on what the page shows or on a frame the
widget sent, never a sleep; the reconnect backoff is set to 50 ms on the script tag.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Dialog, Locator, Page, expect

from tests.browser.fake_widget_server import FakeWidgetServer

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
async def server() -> AsyncIterator[FakeWidgetServer]:
    fake = FakeWidgetServer(reconnect_ms=50)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


class Widget:
    """The widget's parts, found the way a person (or a screen reader) finds them."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.locator("#leadbot-widget .launcher")
        self.panel = page.get_by_role("dialog", name="Test Co")
        self.log = page.get_by_role("log", name="Conversation")
        self.field = page.get_by_role("textbox", name="Message")
        self.badge = page.locator("#leadbot-widget .badge")
        self.typing = page.locator("#leadbot-widget .typing")
        self.notice = page.locator("#leadbot-widget .notice")

    def bubble(self, text: str) -> Locator:
        return self.log.locator(".row", has=self.page.get_by_text(text, exact=True))

    async def open(self) -> None:
        await self.launcher.click()
        await expect(self.panel).to_be_visible()

    async def say(self, text: str) -> None:
        await self.field.fill(text)
        await self.field.press("Enter")


async def visit(
    page: Page, server: FakeWidgetServer, path: str = "/site/home", **goto: Any
) -> Widget:
    await page.goto(f"{server.base_url}{path}", **goto)
    widget = Widget(page)
    await expect(widget.launcher).to_be_visible()
    await server.wait_connected()
    return widget


async def test_launcher_opens_the_panel_and_moves_focus_into_it(
    page: Page, server: FakeWidgetServer
) -> None:
    widget = await visit(page, server)
    await expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    await expect(widget.launcher).to_have_attribute("aria-label", "Open chat")
    await expect(widget.panel).to_be_hidden()

    await widget.open()

    await expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    await expect(widget.field).to_be_focused()
    await expect(widget.log).to_have_attribute("aria-live", "polite")
    # The host page's `button { background: yellow }` cannot reach into the widget.
    background = await widget.launcher.evaluate("b => getComputedStyle(b).backgroundColor")
    assert background == "rgb(79, 70, 229)"

    await page.get_by_role("button", name="Close chat").click()
    await expect(widget.panel).to_be_hidden()
    await expect(widget.launcher).to_be_focused()


async def test_hello_reports_the_source_and_a_reload_resumes(
    page: Page, server: FakeWidgetServer
) -> None:
    query = "?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=bi&utm_content=a"
    widget = await visit(
        page, server, f"/site/pricing{query}", referer="https://search.example/?q=analytics"
    )
    [hello] = await server.wait_for("hello")
    assert "token" not in hello
    assert hello["page"] == {
        "url": f"{server.base_url}/site/pricing{query}",
        "referrer": "https://search.example/?q=analytics",
        "title": "Test site — pricing",
    }
    assert hello["utm"] == {
        "source": "newsletter",
        "medium": "email",
        "campaign": "spring",
        "term": "bi",
        "content": "a",
    }
    token = server.conversation.token
    await page.wait_for_function("t => localStorage.getItem('leadbot.token') === t", arg=token)

    await widget.open()
    await server.say("Hi! What brings you here today?")
    await widget.say("Pricing for 40 seats")
    await expect(widget.bubble("Pricing for 40 seats")).to_have_attribute("data-status", "sent")
    await server.say("Thanks! Alex will be with you shortly.", author="rep", name="Alex")

    await page.reload()

    [_, again] = await server.wait_for("hello", count=2)
    assert again["token"] == token
    assert server.connections == 2 and len(server.conversations) == 1
    await expect(widget.panel).to_be_visible()  # it was open before the reload
    rows = widget.log.locator(".row .bubble")
    await expect(rows).to_have_text(
        [
            "Hi! What brings you here today?",
            "Pricing for 40 seats",
            "Thanks! Alex will be with you shortly.",
        ]
    )
    await expect(widget.log.locator(".row.rep .name")).to_have_text("Alex")


async def test_spa_navigation_reports_a_page_view(page: Page, server: FakeWidgetServer) -> None:
    await visit(page, server, "/site/home")
    await server.wait_for("hello")
    await page.evaluate(
        "document.title = 'Pricing'; history.pushState({}, '', '/site/pricing?utm_source=ad')"
    )
    [view] = await server.wait_for("page_view")
    assert view["page"] == {
        "url": f"{server.base_url}/site/pricing?utm_source=ad",
        "referrer": f"{server.base_url}/site/home",
        "title": "Pricing",
    }
    assert view["utm"] == {"source": "ad"}


async def test_a_new_conversation_on_a_later_page_keeps_the_first_touch_campaign(
    page: Page, server: FakeWidgetServer
) -> None:
    await visit(page, server, "/site/home?utm_source=ad&utm_campaign=launch")
    await server.wait_for("hello")
    await page.evaluate("localStorage.removeItem('leadbot.token')")  # the server forgot us

    await visit(page, server, "/site/pricing")

    [_, later] = await server.wait_for("hello", count=2)
    assert "token" not in later
    assert later["page"]["url"] == f"{server.base_url}/site/pricing"
    assert later["utm"] == {"source": "ad", "campaign": "launch"}


async def test_a_choice_question_shows_buttons_that_send_their_label(
    page: Page, server: FakeWidgetServer
) -> None:
    widget = await visit(page, server)
    await widget.open()
    sizes = ["1-10", "11-50", "51-200", "200+"]
    await server.say("How big is your team?", choices=sizes)
    await server.set_input("choice", choices=sizes)

    group = page.get_by_role("group", name="Suggested answers")
    await expect(group.get_by_role("button")).to_have_text(sizes)

    await group.get_by_role("button", name="51-200").click()
    [sent] = await server.wait_for("message")
    assert sent["text"] == "51-200"
    await expect(widget.bubble("51-200")).to_have_attribute("data-status", "sent")
    await expect(group.get_by_role("button")).to_have_count(0)

    # Keyboard: the buttons sit just before the text field in the tab order.
    await server.set_input("choice", choices=["Yes", "No"])
    await widget.field.focus()
    await page.keyboard.press("Shift+Tab")
    await expect(group.get_by_role("button", name="No")).to_be_focused()
    await page.keyboard.press("Enter")
    await server.wait_for("message", lambda f: f["text"] == "No")


async def test_the_input_hint_picks_the_keyboard(page: Page, server: FakeWidgetServer) -> None:
    widget = await visit(page, server)
    await widget.open()

    await server.set_input("email", placeholder="name@work.com")
    await expect(widget.field).to_have_attribute("type", "email")
    await expect(widget.field).to_have_attribute("inputmode", "email")
    await expect(widget.field).to_have_attribute("placeholder", "name@work.com")

    await server.set_input("phone")
    await expect(widget.field).to_have_attribute("type", "tel")
    await server.set_input("number")
    await expect(widget.field).to_have_attribute("type", "text")
    await expect(widget.field).to_have_attribute("inputmode", "numeric")
    await server.set_input("text")
    await expect(widget.field).not_to_have_attribute("inputmode", "numeric")

    # A bad answer is the server's to judge: the browser's own validation stays out of it.
    await server.set_input("email")
    await widget.say("not an email")
    await server.wait_for("message", lambda f: f["text"] == "not an email")


async def test_the_typing_indicator_shows_until_the_message_arrives(
    page: Page, server: FakeWidgetServer
) -> None:
    widget = await visit(page, server)
    await widget.open()
    await server.push({"type": "typing", "author": "rep", "name": "Alex"})
    await expect(widget.typing).to_be_visible()
    await expect(widget.typing).to_have_text("Alex is typing…")

    await server.say("Hello! I'm Alex from sales.", author="rep", name="Alex")
    await expect(widget.typing).to_be_hidden()
    await expect(widget.bubble("Hello! I'm Alex from sales.")).to_be_visible()


async def test_unread_badge_counts_while_closed_and_clears_on_open(
    page: Page, server: FakeWidgetServer
) -> None:
    widget = await visit(page, server)
    await expect(widget.badge).to_be_hidden()
    await server.say("Hi there 👋")
    await server.say("Anything I can help with?")

    await expect(widget.badge).to_have_text("2")
    await expect(widget.launcher).to_have_attribute("aria-label", "Open chat, 2 unread messages")
    assert server.frames("read") == []

    await widget.open()

    await expect(widget.badge).to_be_hidden()
    [read] = await server.wait_for("read")
    assert read["up_to"] == 2
    # Read while open: no badge, and the server hears about it.
    await server.say("Still there?")
    await server.wait_for("read", lambda f: f["up_to"] == 3)
    await expect(widget.badge).to_be_hidden()


async def test_a_message_typed_offline_is_queued_and_sent_once_on_return(
    page: Page, server: FakeWidgetServer
) -> None:
    widget = await visit(page, server)
    await widget.open()
    server.accepting = False
    await server.drop()
    await expect(page.get_by_text("Reconnecting…")).to_be_visible()

    await widget.say("Are you still there?")

    row = widget.bubble("Are you still there?")
    await expect(row).to_have_attribute("data-status", "pending")
    await expect(row).to_contain_text("Sending…")
    queued = await page.evaluate("JSON.parse(localStorage.getItem('leadbot.outbox'))")
    assert [m["text"] for m in queued] == ["Are you still there?"]
    client_id = queued[0]["client_id"]
    assert server.frames("message") == []

    server.accepting = True

    [sent] = await server.wait_for("message")
    assert sent == {"type": "message", "text": "Are you still there?", "client_id": client_id}
    await expect(row).to_have_attribute("data-status", "sent")
    await expect(row).to_contain_text("Sent")
    assert await page.evaluate("JSON.parse(localStorage.getItem('leadbot.outbox'))") == []
    hellos = server.frames("hello")
    assert len(hellos) == 2 and hellos[1]["token"] == server.conversation.token
    assert [m["text"] for m in server.conversation.messages] == ["Are you still there?"]
    assert len(server.frames("message")) == 1


async def test_a_stored_but_unacked_message_is_shown_once_after_reconnect(
    page: Page, server: FakeWidgetServer
) -> None:
    widget = await visit(page, server)
    await widget.open()
    server.ack_messages = False  # stored, but the ack is lost with the connection
    await widget.say("Do you integrate with Segment?")
    [first] = await server.wait_for("message")
    await expect(widget.bubble("Do you integrate with Segment?")).to_contain_text("Sending…")

    server.ack_messages = True
    await server.drop()

    [_, resent] = await server.wait_for("message", count=2)
    assert resent["client_id"] == first["client_id"]
    row = widget.bubble("Do you integrate with Segment?")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-status", "sent")
    assert len(server.conversation.messages) == 1


async def test_server_and_visitor_text_is_shown_literally(
    page: Page, server: FakeWidgetServer
) -> None:
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog))
    widget = await visit(page, server)
    await widget.open()

    await server.say(HOSTILE, author="rep", name="<b>Eve</b>")
    await widget.say(HOSTILE)
    await server.wait_for("message", lambda f: f["text"] == HOSTILE)

    await expect(widget.log.locator(".bubble")).to_have_text([HOSTILE, HOSTILE])
    await expect(widget.log.locator(".name")).to_have_text("<b>Eve</b>")
    await expect(page.locator("img")).to_have_count(0)
    await expect(widget.log.locator("b")).to_have_count(0)
    assert dialogs == []


async def test_a_too_long_message_gets_a_notice(page: Page, server: FakeWidgetServer) -> None:
    widget = await visit(page, server)
    await widget.open()
    await server.push({"type": "error", "code": "rate_limited", "message": "Slow down."})
    await expect(widget.notice).to_contain_text("a little fast")
    await widget.field.evaluate("f => f.removeAttribute('maxlength')")
    await widget.say("x" * 2001)
    await expect(widget.notice).to_contain_text("under 2,000 characters")
    assert server.frames("message") == []


async def test_on_a_phone_the_panel_fills_the_screen(
    browser: Browser, server: FakeWidgetServer
) -> None:
    context = await browser.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        reduced_motion="reduce",  # measured at rest, not mid-animation
    )
    try:
        page = await context.new_page()
        widget = await visit(page, server)
        await widget.open()
        box = await widget.panel.bounding_box()
        assert box is not None
        assert [round(box[k]) for k in ("x", "y", "width", "height")] == [0, 0, 360, 740]
        await expect(widget.field).to_be_in_viewport()
        await expect(page.get_by_role("button", name="Send")).to_be_in_viewport()
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360

        await server.say("A long answer " * 30)
        bubble = widget.log.locator(".bubble").first
        bubble_box = await bubble.bounding_box()
        assert bubble_box is not None and bubble_box["x"] + bubble_box["width"] <= 360

        await page.get_by_role("button", name="Close chat").click()
        await expect(widget.panel).to_be_hidden()
        await expect(widget.launcher).to_be_in_viewport()
    finally:
        await context.close()


async def test_keyboard_only(page: Page, server: FakeWidgetServer) -> None:
    widget = await visit(page, server)
    for _ in range(5):
        await page.keyboard.press("Tab")
        if await widget.launcher.evaluate("b => b.getRootNode().activeElement === b"):
            break
    await expect(widget.launcher).to_be_focused()

    await page.keyboard.press("Enter")
    await expect(widget.panel).to_be_visible()
    await expect(widget.field).to_be_focused()
    await page.keyboard.type("Hello from the keyboard")
    await page.keyboard.press("Enter")
    [sent] = await server.wait_for("message")
    assert sent["text"] == "Hello from the keyboard"
    await expect(widget.field).to_have_value("")

    await page.keyboard.press("Escape")
    await expect(widget.panel).to_be_hidden()
    await expect(widget.launcher).to_be_focused()
    await expect(widget.launcher).to_have_attribute("aria-expanded", "false")
