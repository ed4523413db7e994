import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from dify_plugin.entities.provider_config import CredentialType
from dify_plugin.entities.trigger import EventDispatch, Subscription, UnsubscribeResult
from dify_plugin.errors.trigger import (
    SubscriptionError,
    TriggerDispatchError,
    TriggerProviderCredentialValidationError,
    TriggerValidationError,
)
from dify_plugin.interfaces.trigger import Trigger, TriggerSubscriptionConstructor
from werkzeug import Request, Response

SIGNATURE_HEADER = "X-Signature-256"


class {{class_name}}Trigger(Trigger):
    """Receives the webhook calls of the external service and picks the events to fire."""

    def _dispatch_event(self, subscription: Subscription, request: Request) -> EventDispatch:
        body = request.get_data()
        secret = subscription.properties.get("webhook_secret")
        if secret:
            expected = "sha256=" + hmac.new(str(secret).encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(request.headers.get(SIGNATURE_HEADER, ""), expected):
                raise TriggerValidationError(f"Missing or invalid {SIGNATURE_HEADER} header.")

        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError as e:
            raise TriggerDispatchError(f"The request body is not JSON: {e}") from e
        if not isinstance(payload, dict):
            raise TriggerDispatchError("The request body must be a JSON object.")

        # One event here; with several, choose their names from the payload or the headers.
        return EventDispatch(
            events=["{{name}}_event"],
            response=Response('{"status": "ok"}', status=200, mimetype="application/json"),
            payload=payload,
        )


class {{class_name}}SubscriptionConstructor(TriggerSubscriptionConstructor):
    """Creates, refreshes and deletes webhooks in the external service for Dify.

    The example only records the subscription; replace the marked parts with calls to the
    service's webhook API, using the API key from the credentials.
    """

    def _validate_api_key(self, credentials: Mapping[str, Any]) -> None:
        if not str(credentials.get("api_key") or "").strip():
            raise TriggerProviderCredentialValidationError("API key is required.")

    def _create_subscription(
        self,
        endpoint: str,
        parameters: Mapping[str, Any],
        credentials: Mapping[str, Any],
        credential_type: CredentialType,
    ) -> Subscription:
        if not endpoint:
            raise SubscriptionError("Dify gave no webhook endpoint to register.")
        webhook_secret = secrets.token_hex(32)
        # Register `endpoint` (and `webhook_secret`) with the service here, and keep the ID it
        # returns in the properties so that _delete_subscription can remove the webhook later.
        return Subscription(
            expires_at=-1,
            endpoint=endpoint,
            parameters=parameters,
            properties={
                "webhook_secret": webhook_secret,
                "resource": parameters.get("resource") or "",
                "external_id": "",
            },
        )

    def _delete_subscription(
        self,
        subscription: Subscription,
        credentials: Mapping[str, Any],
        credential_type: CredentialType,
    ) -> UnsubscribeResult:
        # Delete the webhook subscription.properties["external_id"] in the service here. Report
        # failures in the result instead of raising.
        return UnsubscribeResult(success=True, message="Webhook removed.")

    def _refresh_subscription(
        self,
        subscription: Subscription,
        credentials: Mapping[str, Any],
        credential_type: CredentialType,
    ) -> Subscription:
        # Webhooks that expire must be renewed here; this one never expires (expires_at=-1).
        return subscription.model_copy(update={"expires_at": -1})
