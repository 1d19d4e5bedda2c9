"""OpenAPI descriptions for the kernel's authentication, loaded by CommerceConfig.ready()."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "commerce.api_keys.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Send `Authorization: Api-Key tdm_<prefix>_<secret>`. Each key carries scopes such as catalog:read.",
        }
