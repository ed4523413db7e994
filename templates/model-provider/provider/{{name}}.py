import logging

from dify_plugin import ModelProvider
from dify_plugin.entities.model import ModelType
from dify_plugin.errors.model import CredentialsValidateFailedError

logger = logging.getLogger(__name__)


class {{class_name}}Provider(ModelProvider):
    def validate_provider_credentials(self, credentials: dict) -> None:
        """Checks the provider credentials (provider_credential_schema in the provider YAML).

        Raise CredentialsValidateFailedError when they are wrong. The usual way is to let one
        predefined model validate them, which is what this example does; you can also call a
        cheap endpoint of your API (for example, listing models) instead.
        """
        try:
            model_instance = self.get_model_instance(ModelType("{{model_type_value}}"))
            predefined = model_instance.predefined_models()
            if not predefined:
                raise CredentialsValidateFailedError("No predefined model to validate with.")
            model_instance.validate_credentials(model=predefined[0].model, credentials=credentials)
        except CredentialsValidateFailedError:
            raise
        except Exception as ex:
            logger.exception("Provider credential validation failed")
            raise CredentialsValidateFailedError(str(ex)) from ex
