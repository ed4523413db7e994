from collections.abc import Mapping
from typing import Any

from dify_plugin.entities.trigger import Variables
from dify_plugin.errors.trigger import EventIgnoreError
from dify_plugin.interfaces.trigger import Event
from werkzeug import Request


class {{class_name}}Event(Event):
    def _on_event(
        self, request: Request, parameters: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> Variables:
        """Turns the webhook payload into the variables of output_schema.

        `parameters` holds what the user set on the trigger node (the parameters declared in
        the event YAML) and `payload` the JSON body decoded by the trigger. Raise
        EventIgnoreError to skip an event that does not match.
        """
        text = str(payload.get("text") or payload.get("message") or "")
        keyword = str(parameters.get("keyword") or "").strip().lower()
        if keyword and keyword not in text.lower():
            raise EventIgnoreError(f"The event does not mention {keyword!r}.")

        return Variables(
            variables={
                "event_type": str(payload.get("type") or "unknown"),
                "text": text,
                "payload": dict(payload),
            }
        )
