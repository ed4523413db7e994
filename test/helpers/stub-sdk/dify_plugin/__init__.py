"""A stand-in for the part of the Dify plugin SDK that a generated tool and its unit test use,
so that the init tests can run that test where the SDK is not installed (it needs Python 3.12
and gevent). Same names and shapes as dify-plugin-sdks `src/dify_plugin/interfaces/tool/tool.py`
(Tool: __init__(runtime, session), create_text_message, create_json_message) and
`src/dify_plugin/entities/invoke_message.py` (InvokeMessage.MessageType, TextMessage, JsonMessage).
"""

from dify_plugin.entities.tool import ToolInvokeMessage


class Tool:
    def __init__(self, runtime, session):
        self.runtime = runtime
        self.session = session

    def create_text_message(self, text):
        return ToolInvokeMessage(
            type=ToolInvokeMessage.MessageType.TEXT, message=ToolInvokeMessage.TextMessage(text=text)
        )

    def create_json_message(self, json):
        return ToolInvokeMessage(
            type=ToolInvokeMessage.MessageType.JSON, message=ToolInvokeMessage.JsonMessage(json_object=json)
        )
