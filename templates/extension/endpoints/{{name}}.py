import hmac
import json
from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response


class {{class_name}}Endpoint(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        """Answers GET /hello?name=... with a JSON greeting.

        `values` holds the variables of the path in the endpoint YAML, and `settings` the
        values the user entered for the settings of the endpoint group YAML. Replace the
        greeting with your own logic; to call back into Dify (apps, models, tools), use
        self.session.
        """
        expected = str(settings.get("api_key") or "")
        auth = r.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            return Response(
                json.dumps({"error": "unauthorized"}),
                status=401,
                content_type="application/json",
                headers={"WWW-Authenticate": "Bearer"},
            )

        name = r.args.get("name", "world")
        return Response(
            json.dumps({"message": f"Hello, {name}!"}, ensure_ascii=False),
            status=200,
            content_type="application/json",
        )
