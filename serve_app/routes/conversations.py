"""Conversations: create, list, open, rename, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from penguin_actors.store import ConversationRecord
from serve_app.deps import ConversationsDep, StoreDep
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


def summary(record: ConversationRecord) -> dict[str, Any]:
    return record.model_dump(include=SUMMARY_FIELDS) | {"title": record.display_title}


@router.post("/conversations/create", response_model=ConversationCreated, status_code=201, responses=documented(404))
async def create_conversation(
    store: StoreDep, conversations: ConversationsDep, body: ConversationCreate | None = None
) -> ConversationCreated:
    body = body or ConversationCreate()
    record = await store.get_conversation(await conversations.create(body.given_title, body.model_id))
    return ConversationCreated(**summary(record), conversation_id=record.id)


@router.get("/conversations", response_model=ConversationList)
async def list_conversations(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ConversationList:
    records, total = await store.list_conversations(limit, offset)
    items = [ConversationSummary(**summary(r)) for r in records]
    return ConversationList(conversations=items, total=total, limit=limit, offset=offset)


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail, responses=documented(404))
async def get_conversation(conversation_id: IdPath, store: StoreDep) -> ConversationDetail:
    record = await store.get_conversation(conversation_id)
    messages = await store.load_messages(conversation_id)
    public = [MessagePublic.model_validate(m.model_dump()) for m in messages]
    return ConversationDetail(**summary(record), messages=public)


@router.patch("/conversations/{conversation_id}", response_model=ConversationSummary, responses=documented(404))
async def update_conversation(
    conversation_id: IdPath, body: ConversationUpdate, conversations: ConversationsDep
) -> ConversationSummary:
    """Through the conversation's actor, so its next turn uses the model set here."""
    clear_model = "model_id" in body.model_fields_set and body.model_id is None
    record = await conversations.update(
        conversation_id, title=body.title, model_id=body.model_id, clear_model=clear_model
    )
    return ConversationSummary(**summary(record))


@router.delete("/conversations/{conversation_id}", response_model=Deleted, responses=documented(404))
async def delete_conversation(conversation_id: IdPath, conversations: ConversationsDep) -> Deleted:
    await conversations.delete(conversation_id)
    return Deleted(id=conversation_id)
