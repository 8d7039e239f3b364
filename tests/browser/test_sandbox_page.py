"""The sandbox's web page in a real browser: a person can run the whole lead flow.

The bot runs for real against the sandbox; the page is driven like a person
would (pick a user, click a button, type a command) and every wait is on what
the page shows, never a sleep.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, Route, expect

from sandbox import Sandbox
from tests.harness import RunningBot, wait_for_card

SALES = "C0SALES01"
ALICE, BOB = "U0ALICE1", "U0BOB001"


async def post_card(bot: RunningBot, slack: Sandbox, body: dict[str, Any]) -> str:
    """Post a lead through the bot's API; the ts of its card in #sales."""
    status, created = await bot.post_lead(body)
    assert status == 201, created
    return str((await wait_for_card(slack, created["id"])).response["ts"])


async def open_page(page: Page, slack: Sandbox, user: str, channel: str = SALES) -> None:
    await page.goto(f"{slack.base_url}/?as={user}&channel={channel}")
    await expect(page.get_by_label("Acting as")).to_have_value(user)


async def test_rep_claims_a_card_by_clicking_claim(
    bot: RunningBot, slack: Sandbox, page: Page
) -> None:
    ts = await post_card(
        bot,
        slack,
        {"name": "Jane Doe", "email": "jane@example.com", "company": "Initech"},
    )
    await open_page(page, slack, ALICE)  # the rep the lead is offered to
    await expect(page.get_by_role("button", name="sales", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    card = page.locator(f'.msg[data-ts="{ts}"]')
    await expect(card).to_contain_text("New lead: Jane Doe")

    await card.get_by_role("button", name="Claim", exact=True).click()

    await expect(card).to_contain_text("Claimed by")
    await expect(card.locator(".chip.mention")).to_have_text("@Alice Johnson")
    await expect(card).to_contain_text("✅")
    await expect(card.get_by_role("button", name="Claim")).to_have_count(0)
    [update] = await slack.wait_for_call("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (SALES, ts)

    # The chosen user and conversation survive a reload.
    await page.reload()
    await expect(page.get_by_label("Acting as")).to_have_value(ALICE)
    await expect(page.locator(f'.msg[data-ts="{ts}"]')).to_contain_text("Claimed by")


async def test_visitor_text_is_shown_literally(bot: RunningBot, slack: Sandbox, page: Page) -> None:
    hostile = "<!channel> <b>x</b>"
    ts = await post_card(bot, slack, {"name": hostile, "email": "x@example.com"})
    await open_page(page, slack, ALICE)
    card = page.locator(f'.msg[data-ts="{ts}"]')

    await expect(card.locator(".blk-header")).to_have_text(f"New lead: {hostile}")
    await expect(card.locator(".fields")).to_contain_text(hostile)
    bold = await card.locator("b").all_text_contents()
    assert "x" not in bold and "Name" in bold  # the card's own *Name* is bold; the visitor's not
    # The one mention is the bot's own, of the rep the lead is offered to.
    await expect(card.locator(".chip")).to_have_text(["@Alice Johnson"])
    assert "@channel" not in await card.inner_text()


async def test_slash_command_answer_appears_for_the_user(
    bot: RunningBot, slack: Sandbox, page: Page
) -> None:
    await open_page(page, slack, ALICE)
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("/leads help")
    await composer.press("Enter")

    answer = page.locator(".msg.eph")
    await expect(answer).to_contain_text("Only visible to you")
    await expect(answer).to_contain_text("/leads help — this list")
    await expect(answer.locator("b").first).to_have_text("leadbot")
    await expect(composer).to_have_value("")

    # A re-render (someone posts) keeps what is being typed, and the focus.
    await composer.fill("draft")
    await slack.post_user_message(BOB, SALES, "morning all")
    await expect(page.locator(".msg", has_text="morning all")).to_have_count(1)
    await expect(composer).to_have_value("draft")
    await expect(composer).to_be_focused()


async def test_page_renders_mrkdwn_blocks_files_and_reactions(slack: Sandbox, page: Page) -> None:
    """Every rendering rule at once, on a message served in place of the sandbox's state."""
    base = slack.base_url
    message = {
        "type": "message",
        "ts": "1700000000.000100",
        "channel": SALES,
        "user": "UBOT",
        "bot_id": "BBOT",
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "*plain* &amp; <b>"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Bold* _it_ ~gone~ `a&lt;b` <@U0ALICE1> <@U0NOBODY|Someone> "
                    "<#C0SALES01> <!here> <https://example.com/?a=1&amp;b=2|site> "
                    "<javascript:alert(1)|bad> :white_check_mark: :no_such_emoji: "
                    "&lt;i&gt;raw&lt;/i&gt;\n```two\nlines```",
                },
            },
            {
                "type": "image",
                "image_url": f"{base}/chart.png",
                "alt_text": "A chart",
                "title": {"type": "plain_text", "text": "Weekly"},
            },
            {"type": "actions", "elements": [_button("Drop", "danger")]},
            {"type": "frobnicate"},
        ],
        "files": [
            {
                "id": "F1",
                "name": "photo.png",
                "title": "Photo",
                "mimetype": "image/png",
                "url_private": f"{base}/files/F1/photo.png",
                "size": 2048,
            },
            {
                "id": "F2",
                "name": "quote.pdf",
                "title": "Quote",
                "mimetype": "application/pdf",
                "url_private": f"{base}/files/F2/quote.pdf",
                "size": 12345,
            },
        ],
        "reactions": [{"name": "eyes", "users": [ALICE, BOB], "count": 2}],
    }
    state = slack.workspace.snapshot()
    next(c for c in state["channels"] if c["id"] == SALES)["messages"].append(message)

    async def serve_state(route: Route) -> None:
        await route.fulfill(json=state)

    await page.route("**/_sandbox/state", serve_state)
    await open_page(page, slack, ALICE)
    msg = page.locator('.msg[data-ts="1700000000.000100"]')

    await expect(msg.locator(".blk-header")).to_have_text("*plain* &amp; <b>")
    await expect(msg.locator("b")).to_have_text(["Bold"])
    await expect(msg.locator("i")).to_have_text(["it"])
    await expect(msg.locator("s")).to_have_text(["gone"])
    await expect(msg.locator("code")).to_have_text(["a<b"])
    await expect(msg.locator(".chip")).to_have_text(
        ["@Alice Johnson", "@Someone", "#sales", "@here"]
    )
    await expect(msg.get_by_role("link", name="site")).to_have_attribute(
        "href", "https://example.com/?a=1&b=2"
    )
    await expect(msg.get_by_role("link", name="bad")).to_have_count(0)
    section = msg.locator(".section .text")
    await expect(section).to_contain_text("bad ✅ :no_such_emoji: <i>raw</i>")
    await expect(msg.locator("pre.code-block")).to_have_text("two\nlines")
    chart = msg.get_by_role("img", name="A chart")
    await expect(chart).to_have_attribute("title", "Weekly")
    await expect(msg.get_by_role("button", name="Drop")).to_have_class("btn danger")
    await expect(msg.locator(".placeholder")).to_have_text("[frobnicate block]")
    await expect(msg.get_by_role("img", name="Photo")).to_have_attribute(
        "src", f"{base}/files/F1/photo.png"
    )
    await expect(msg.get_by_role("link", name="Quote")).to_have_attribute(
        "href", f"{base}/files/F2/quote.pdf"
    )
    await expect(msg.locator(".reaction")).to_have_text("👀 2")
    assert "fallback" not in await msg.inner_text()


def _button(label: str, style: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": label.lower(),
        "text": {"type": "plain_text", "text": label},
        "style": style,
    }
