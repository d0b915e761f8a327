"""Chat: a message over HTTP (JSON or Server-Sent Events) and the WebSocket stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse, StreamingResponse

from penguin_actors.config import Settings
from penguin_actors.errors import PenguinError, TooLarge
from penguin_actors.gateway import Gateway
from penguin_actors.models.catalog import catalog_of
from penguin_actors.runtime import call
from penguin_actors.types import TurnRequest
from serve_app.deps import GatewayDep, SettingsDep
from serve_app.errors import STATUS_BY_CODE, error_response
from serve_app.schemas import ChatRequest, ChatResponse, ErrorResponse
from serve_app.security import client_id
from serve_app.streaming import ChatSession, streaming

router = APIRouter(tags=["chat"])
TITLE_CHARS = 60


async def begin_turn(gateway: Gateway, settings: Settings, body: ChatRequest) -> tuple[str, str]:
    """Validate what the schema cannot, create the conversation if none is named, and queue the turn."""
    if len(body.text) > settings.limits.max_text_chars:
        raise TooLarge(f"text has {len(body.text)} characters, over the limit of {settings.limits.max_text_chars}")
    if body.model_id is not None and body.model_id not in catalog_of(settings):
        await call(gateway.system("models").get, body.model_id)  # NotFound, listing the valid ids
    conversation_id = body.conversation_id
    if conversation_id is None:
        title = " ".join(body.text.split())[:TITLE_CHARS]
        record = await call(gateway.system("checkpoints").create_conversation, title, None)
        conversation_id = record.id
    request = TurnRequest(**body.model_dump(exclude={"conversation_id", "streaming"}))
    return conversation_id, await gateway.start_turn(conversation_id, request)


@router.post(
    "/chat/message",
    response_model=ChatResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "JSON, or events when streaming is true"},
        404: {"model": ErrorResponse},
        409: {"model": ErrorResponse},
        413: {"model": ErrorResponse},
        502: {"model": ErrorResponse},
    },
)
async def chat_message(
    request: Request, body: ChatRequest, gateway: GatewayDep, settings: SettingsDep
) -> JSONResponse | StreamingResponse:
    conversation_id, turn_id = await begin_turn(gateway, settings, body)
    if body.streaming:
        return StreamingResponse(
            server_sent_events(gateway, conversation_id, turn_id, request.app.state),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    result = await gateway.wait(conversation_id, turn_id)
    if result.pop("event") == "error":
        status = STATUS_BY_CODE.get(result["code"], 500)
        return error_response(status, result["code"], result["message"])
    answer = ChatResponse(**result_fields(result), conversation_id=conversation_id, turn_id=turn_id)
    return JSONResponse(answer.model_dump(mode="json"))


def result_fields(result: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in result.items() if k in ChatResponse.model_fields}


async def server_sent_events(gateway: Gateway, conversation_id: str, turn_id: str, state: Any) -> AsyncIterator[str]:
    """The turn's frames as SSE: ``id`` is the frame's seq, ``event`` its name, ``data`` the whole frame."""
    try:
        with streaming(state):
            async for batch in gateway.events(conversation_id, turn_id):
                for frame in batch:
                    yield f"id: {frame['seq']}\nevent: {frame['event']}\ndata: {json.dumps(frame)}\n\n"
    except PenguinError as exc:
        frame = {"event": "error", "data": {"message": exc.message, "code": exc.code}}
        yield f"event: error\ndata: {json.dumps(frame | {'conversation_id': conversation_id, 'turn_id': turn_id})}\n\n"


@router.websocket("/chat/stream")
async def chat_stream(websocket: WebSocket, gateway: GatewayDep, settings: SettingsDep) -> None:
    client = client_id(websocket, settings.server.api_key)
    sockets = websocket.app.state.websocket_clients
    await ChatSession(websocket, gateway, settings, begin_turn, client=client, sockets=sockets).run()
