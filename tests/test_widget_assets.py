"""`GET /widget.js` and the sample page `/widget/demo`, served from package data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from handlers import widget_assets


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    widget_assets.register(app)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_the_script_is_javascript_cached_and_revalidated(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/widget.js")
    assert response.status == 200
    assert response.content_type == "application/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = await response.text()
    assert "window.LeadbotWidget" in body and "innerHTML" not in body

    again = await client.get("/widget.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304


async def test_the_sample_page_embeds_the_widget_from_the_same_host(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/widget/demo")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '<script src="/widget.js" async' in page
    assert 'href="#pricing"' in page
