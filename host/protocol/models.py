"""Wire shapes of protocol v1 as pydantic models: the server's OpenAPI and the client's checks.

Every answer is an envelope: ok, state, user_explanation, tech_explanation, error_code, and the
operation's payload under `data`.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
)

T = TypeVar("T")

FieldTypeName = Literal[
    "checkbox", "text", "password", "integer", "double", "list", "datetime", "label"
]
AccessName = Literal["normal", "mandatory", "readonly"]
StateName = Literal["ok", "ok_with_info", "warning", "error"]
ConfigValue = bool | int | float | str | None


class Envelope(BaseModel, Generic[T]):
    """The response envelope of every call; `data` is the payload, null on errors.

    All six members are always present (required in the schema)."""

    ok: bool = Field(description="false exactly when state is error")
    state: StateName
    user_explanation: str = Field(description="for the admin; may be localised")
    tech_explanation: str = Field(description="English, for the log; never a stack trace")
    error_code: str = Field(
        description="empty on success; one of the ErrorCode values, or a connector's own code"
    )
    data: T | None = Field(description="the operation's payload; null on errors")


class PagedEnvelope(Envelope[T], Generic[T]):
    """The envelope of a search (v1.1): `next_cursor` non-empty means more actors match."""

    next_cursor: str = Field(
        "",
        description="empty: this is every match; else send it back as `cursor` (with the same "
        "request) for the next page. A 1.0 connector never sets it.",
    )


class PageSizeModel(BaseModel):
    default: int = Field(ge=1)
    max: int = Field(ge=1)


class Capabilities(BaseModel):
    """What a connector declares it offers (v1.1); a 1.0 connector declares nothing."""

    operations: list[str] = Field(
        description="the optional operations it answers (see OPTIONAL_OPERATIONS)"
    )
    page_size: PageSizeModel
    search_page_size: PageSizeModel
    check_last_modified: bool = Field(
        description="save actors honours check_last_modified atomically (else the host "
        "emulates it, not atomically)"
    )


class InfoModel(BaseModel):
    id: str
    name: str
    vendor: str
    version: str
    description: str = ""
    protocol_version: str
    capabilities: Capabilities | None = Field(None, description="v1.1; absent from 1.0")


ConditionScalar = bool | int | float | str


class ConditionEquals(BaseModel):
    """v1.1: holds when the other field's value is `equals` (native JSON of its type)."""

    model_config = ConfigDict(extra="forbid")
    field: str = Field(min_length=1, description="the key of another config field")
    equals: ConditionScalar


class ConditionIn(BaseModel):
    """v1.1: holds when the other field's value is one of `in`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    field: str = Field(min_length=1, description="the key of another config field")
    in_: list[ConditionScalar] = Field(alias="in", min_length=1)


ConditionModel = ConditionEquals | ConditionIn


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
    visible_when: ConditionModel | None = Field(
        None, description="v1.1: shown, and its value kept, only while this holds"
    )
    required_when: ConditionModel | None = Field(
        None, description="v1.1: mandatory while this holds (and the field is shown)"
    )
    group: str = Field("", description="v1.1: title of the group of fields it is shown in")
    placeholder: str = Field("", description="v1.1: example text of the empty input")
    help: str = Field("", description="v1.1: longer help than description")
    pattern: str = Field(
        "", description="v1.1: a regular expression a non-empty text value must match in full"
    )
    pattern_message: str = Field("", description="v1.1: shown when a value does not match")


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


class Paging(BaseModel):
    """Paging members of a search body (v1.1): repeat the whole request with the cursor."""

    limit: int | None = Field(
        None, ge=1, le=1000, description="page size; none = the connector's search default"
    )
    cursor: str = Field("", description="next_cursor of the previous page; empty = first page")


class SearchBody(Paging):
    text: str = ""
    field_keys: list[str] = []


class SearchByParentBody(Paging):
    text: str = ""
    parent_actor_type: str
    parent_erp_key: str
    field_keys: list[str] = []


class RestrictionModel(BaseModel):
    field_key: str
    operator: str
    values: list[ConfigValue] = []


class SearchAdvancedBody(Paging):
    restrictions: list[RestrictionModel] = []
    field_keys: list[str] = []


class CreateActorBody(BaseModel):
    actor: ActorModel


class SaveActorsBody(BaseModel):
    actors: list[ActorModel]
    check_last_modified: bool = Field(
        False,
        description="v1.1: refuse (error_code conflict, nothing saved) when an actor's "
        "last_modified is not its current one",
    )


class ChangesPage(BaseModel):
    actors: list[ActorModel]
    cursor: str = Field("", description="Pass back to get the next page; empty on the last page")


class StreamPosition(BaseModel):
    """A stream line after each page but the last: send `position` back as `cursor` (with
    the same since and fields) to resume after the actors already read."""

    position: str
    count: int = Field(description="actors sent so far in this stream")


class StreamEnd(BaseModel):
    """The last line of a complete stream; a stream without it was cut off."""

    end: Literal[True]
    count: int = Field(description="actors sent in this stream")
    next_since: str = Field(
        description="the newest last_modified sent (else the since asked for): the stamp to "
        "ask from next time"
    )


class StreamError(BaseModel):
    """The last line of a stream the connector failed in after it began: an error envelope."""

    error: Envelope[None]


class ChangesStreamLine(RootModel[ActorModel | StreamPosition | StreamEnd | StreamError]):
    """One line of the streamed changes feed: an actor, a position, the end or an error."""


class ListItem(BaseModel):
    key: str
    text: str
