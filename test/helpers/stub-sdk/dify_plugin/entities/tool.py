from dataclasses import dataclass, field
from enum import Enum
from typing import Any


@dataclass
class ToolRuntime:
    credentials: dict
    user_id: Any = None
    session_id: Any = None
    credential_type: str = "api-key"


@dataclass
class ToolInvokeMessage:
    class MessageType(Enum):
        TEXT = "text"
        JSON = "json"

    @dataclass
    class TextMessage:
        text: str

    @dataclass
    class JsonMessage:
        json_object: Any

    type: "ToolInvokeMessage.MessageType"
    message: Any = field(default=None)
