"""Wire shapes of protocol v1 as pydantic models: the server's OpenAPI and the client's checks.

Every answer is an envelope: ok, state, user_explanation, tech_explanation, error_code, and the
operation's payload under `data`.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

FieldTypeName = Literal[
    "checkbox", "text", "password", "integer", "double", "list", "datetime", "label"
]
AccessName = Literal["normal", "mandatory", "readonly"]
StateName = Literal["ok", "ok_with_info", "warning", "error"]
ConfigValue = bool | int | float | str | None


class Envelope(BaseModel, Generic[T]):
    """The response envelope of every call; `data` is the payload, null on errors."""

    ok: bool
    state: StateName
    user_explanation: str = ""
    tech_explanation: str = ""
    error_code: str = ""
    data: T | None = None


class InfoModel(BaseModel):
    id: str
    name: str
    vendor: str
    version: str
    description: str = ""
    protocol_version: str


class FieldModel(BaseModel):
    key: str
    display_name: str
    description: str = ""
    type: FieldTypeName
    access: AccessName = "normal"
    default: ConfigValue = None
    max_length: int = Field(0, ge=0)
    list_name: str = ""
    rank: int = 0


class ConfigBody(BaseModel):
    """Config values keyed by field key, as native JSON values."""

    model_config = ConfigDict(extra="forbid")
    config: dict[str, ConfigValue]


class ActorModel(BaseModel):
    actor_type: str
    erp_key: str = ""
    last_modified: str = ""
    parent_actor_type: str = ""
    parent_erp_key: str = ""
    field_values: dict[str, ConfigValue] = {}


class GetActorsBody(BaseModel):
    erp_keys: list[str]
    field_keys: list[str] = []


class SearchBody(BaseModel):
    text: str = ""
    field_keys: list[str] = []


class SearchByParentBody(BaseModel):
    text: str = ""
    parent_actor_type: str
    parent_erp_key: str
    field_keys: list[str] = []


class RestrictionModel(BaseModel):
    field_key: str
    operator: str
    values: list[ConfigValue] = []


class SearchAdvancedBody(BaseModel):
    restrictions: list[RestrictionModel] = []
    field_keys: list[str] = []


class CreateActorBody(BaseModel):
    actor: ActorModel


class SaveActorsBody(BaseModel):
    actors: list[ActorModel]


class ChangesPage(BaseModel):
    actors: list[ActorModel]
    cursor: str = Field("", description="Pass back to get the next page; empty on the last page")


class ListItem(BaseModel):
    key: str
    text: str
