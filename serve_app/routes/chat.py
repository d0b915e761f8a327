"""Chat: a message over HTTP (JSON or Server-Sent Events) and the WebSocket stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse, StreamingResponse

from penguin_actors.edge.gateway import Conversations
from penguin_actors.errors import PenguinError
from serve_app.deps import ConversationsDep, SettingsDep
from serve_app.errors import STATUS_BY_CODE, error_response
from serve_app.schemas import ChatRequest, ChatResponse, ErrorResponse
from serve_app.security import client_id
from serve_app.streaming import ChatSession, streaming

router = APIRouter(tags=["chat"])


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
    request: Request, body: ChatRequest, conversations: ConversationsDep
) -> JSONResponse | StreamingResponse:
    sent = await conversations.send(body.conversation, body.turn_request(request.headers.get("idempotency-key")))
    headers = {"Idempotent-Replayed": "true"} if sent.repeated else {}
    if body.streaming:
        return StreamingResponse(
            server_sent_events(conversations, sent.conversation_id, sent.turn_id, request.app.state),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers},
        )
    result = await conversations.wait(sent.conversation_id, sent.turn_id)
    if result.pop("event") == "error":
        status = STATUS_BY_CODE.get(result["code"], 500)
        return error_response(status, result["code"], result["message"], headers=headers)
    ids = {"conversation_id": sent.conversation_id, "session_id": sent.conversation_id, "turn_id": sent.turn_id}
    answer = ChatResponse(**result_fields(result), **ids)
    return JSONResponse(answer.model_dump(mode="json"), headers=headers)


def result_fields(result: dict[str, object]) -> dict[str, object]:
    ids = {"conversation_id", "session_id", "turn_id"}
    return {k: v for k, v in result.items() if k in ChatResponse.model_fields and k not in ids}


async def server_sent_events(
    conversations: Conversations, conversation_id: str, turn_id: str, state: Any
) -> AsyncIterator[str]:
    """The turn's frames as SSE: ``id`` is the frame's seq, ``event`` its name, ``data`` the whole frame."""
    try:
        with streaming(state):
            async for batch in conversations.events(conversation_id, turn_id):
                for frame in batch:
                    yield f"id: {frame['seq']}\nevent: {frame['event']}\ndata: {json.dumps(frame)}\n\n"
    except PenguinError as exc:
        frame = {"event": "error", "data": {"message": exc.message, "code": exc.code}}
        yield f"event: error\ndata: {json.dumps(frame | {'conversation_id': conversation_id, 'turn_id': turn_id})}\n\n"


@router.websocket("/chat/stream")
async def chat_stream(websocket: WebSocket, conversations: ConversationsDep, settings: SettingsDep) -> None:
    client = client_id(websocket, settings.server.api_key)
    sockets = websocket.app.state.websocket_clients
    await ChatSession(websocket, conversations, settings, client=client, sockets=sockets).run()
