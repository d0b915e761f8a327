"""Render: Markdown to safe HTML with highlighted code, for the web page."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from penguin_actors.errors import TooLarge
from serve_app.deps import SettingsDep
from serve_app.markdown import render_all
from serve_app.schemas import ErrorResponse, RenderRequest, RenderResponse

router = APIRouter(tags=["render"])


@router.post("/render", response_model=RenderResponse, responses={413: {"model": ErrorResponse}})
async def render(body: RenderRequest, settings: SettingsDep) -> RenderResponse:
    limit = settings.limits.max_text_chars
    for index, text in enumerate(body.texts):
        if len(text) > limit:
            raise TooLarge(f"texts[{index}] has {len(text)} characters, over the limit of {limit}: render less")
    # Parsing and highlighting are CPU work: off the event loop, which relays other clients' streams.
    return RenderResponse(html=await asyncio.to_thread(render_all, body.texts))
