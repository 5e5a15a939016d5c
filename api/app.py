"""The Flask app factory: configuration, the problem-aware Api, resources and hooks."""

from typing import Any

from flask import Flask

from api import observability
from api.command_schemas import command_one_of, document_answers
from api.config import ApiOptions
from api.pages import pages
from api.problems import ProblemApi, wire_limits_markdown
from api.resources import BLUEPRINTS
from api.runtime import Runtime
from api.schemas import CommandField
from service.settings import Settings
from service.system import System, command_specs

API_PREFIX = "/api/v1"
# Pages and the documentation viewers' scripts ship in the package (api/static) and are
# served from here, so nothing a browser loads comes from outside the deployment.
ASSETS_PATH = "/assets"


def _openapi_config(options: ApiOptions) -> dict[str, Any]:
    return {
        "API_TITLE": "Appraisal ledger",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": API_PREFIX,
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": f"{ASSETS_PATH}/vendor/swagger-ui/",
        "OPENAPI_REDOC_PATH": "redoc",
        "OPENAPI_REDOC_URL": f"{ASSETS_PATH}/vendor/redoc/redoc.standalone.js",
        "MAX_CONTENT_LENGTH": options.max_body_bytes,
        "API_SPEC_OPTIONS": {
            "info": {
                "description": (
                    "Event-sourced, audit-grade appraisal ledger. Every write is a signed "
                    "command; every failure is `application/problem+json` whose `type` is "
                    "a stable URI per refusal.\n\n" + wire_limits_markdown()
                )
            }
        },
    }


def _document_commands(api: ProblemApi) -> None:
    """Describe the envelope's `command` as a oneOf over the types the bus handles now."""
    command_schema = command_one_of(api.spec, command_specs())

    def command_field(_converter: Any, field: Any, **_: Any) -> dict[str, Any]:
        return dict(command_schema) if isinstance(field, CommandField) else {}

    api.ma_plugin.converter.add_attribute_function(command_field)


def create_app(
    settings: Settings | None = None,
    *,
    system: System | None = None,
    options: ApiOptions | None = None,
) -> Flask:
    """Build the WSGI app; the System is opened on first use unless one is given."""
    options = options or ApiOptions.from_env()
    settings = settings or (system.settings if system is not None else Settings.from_env())
    observability.configure_logging(options.log_level)
    app = Flask("api", static_url_path=ASSETS_PATH)
    app.config.update(_openapi_config(options))
    runtime = Runtime(settings, options, system)
    app.extensions["appraisal"] = runtime
    api = ProblemApi(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "POST /api/v1/sessions"}
    )
    _document_commands(api)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(pages)
    document_answers(api.spec, "Accepted", command_specs())
    observability.install(app, runtime.metrics, runtime.held_lines)
    return app
