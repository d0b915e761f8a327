"""Conversations: create, list, open, rename, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from penguin_actors.runtime import call
from serve_app.deps import GatewayDep
from serve_app.errors import documented
from serve_app.schemas import (
    ConversationCreate,
    ConversationCreated,
    ConversationDetail,
    ConversationList,
    ConversationSummary,
    ConversationUpdate,
    Deleted,
    MessagePublic,
)

router = APIRouter(tags=["conversations"])
IdPath = Annotated[str, Path(min_length=1, max_length=128)]
SUMMARY_FIELDS = set(ConversationSummary.model_fields)


def summary(record: Any) -> dict[str, Any]:
    return record.model_dump(include=SUMMARY_FIELDS)  # type: ignore[no-any-return]


@router.post("/conversations/create", response_model=ConversationCreated, status_code=201, responses=documented(404))
async def create_conversation(gateway: GatewayDep, body: ConversationCreate | None = None) -> ConversationCreated:
    body = body or ConversationCreate()
    if body.model_id is not None:
        await call(gateway.system("models").get, body.model_id)  # NotFound lists the valid ids
    record = await call(gateway.system("checkpoints").create_conversation, body.title, body.model_id)
    return ConversationCreated(**summary(record), conversation_id=record.id)


@router.get("/conversations", response_model=ConversationList)
async def list_conversations(
    gateway: GatewayDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ConversationList:
    records, total = await call(gateway.system("checkpoints").list_conversations, limit, offset)
    items = [ConversationSummary(**summary(r)) for r in records]
    return ConversationList(conversations=items, total=total, limit=limit, offset=offset)


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail, responses=documented(404))
async def get_conversation(conversation_id: IdPath, gateway: GatewayDep) -> ConversationDetail:
    store = gateway.system("checkpoints")
    record = await call(store.get_conversation, conversation_id)
    messages = await call(store.load_messages, conversation_id)
    public = [MessagePublic.model_validate(m.model_dump()) for m in messages]
    return ConversationDetail(**summary(record), messages=public)


@router.patch("/conversations/{conversation_id}", response_model=ConversationSummary, responses=documented(404))
async def update_conversation(
    conversation_id: IdPath, body: ConversationUpdate, gateway: GatewayDep
) -> ConversationSummary:
    if body.model_id is not None:
        await call(gateway.system("models").get, body.model_id)  # NotFound lists the valid ids
    clear_model = "model_id" in body.model_fields_set and body.model_id is None
    record = await call(
        gateway.system("checkpoints").update_conversation,
        conversation_id,
        title=body.title,
        model_id=body.model_id,
        clear_model=clear_model,
    )
    return ConversationSummary(**summary(record))


@router.delete("/conversations/{conversation_id}", response_model=Deleted, responses=documented(404))
async def delete_conversation(conversation_id: IdPath, gateway: GatewayDep) -> Deleted:
    await call(gateway.system("checkpoints").get_conversation, conversation_id)
    await call(gateway.system("directory").forget, conversation_id)
    gateway.forget(conversation_id)
    await call(gateway.system("checkpoints").delete_conversation, conversation_id)
    return Deleted(id=conversation_id)
