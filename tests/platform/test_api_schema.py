"""schemathesis against the whole JSON API, anonymous and signed in: whatever it sends, no answer is
a server error, no status is missing from /openapi.json, and every body has its documented shape."""
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from gennation.platform.app import create_app
from gennation.platform.settings import Settings
from tests.conftest import FIXTURE_CONTENT, api_token

# The document as the platform publishes it (building the app touches no database).
_var = Path(tempfile.mkdtemp(prefix="gennation-schema-"))
_documented = create_app(Settings(database_url=f"sqlite:///{_var / 'unused.db'}", secret_key="x" * 40,
                                  content_dir=FIXTURE_CONTENT, var_dir=_var)).openapi()
schema = schemathesis.openapi.from_dict(_documented)


@pytest.fixture(params=["anonymous", "signed-in"])
def who(request, client) -> dict:
    return api_token(client, "schema-prober") if request.param == "signed-in" else {}


def no_server_error(ctx, response, case):
    """Any 5xx fails, except a 503 the operation documents (the tutor without its model, in these tests)."""
    if response.status_code == 503 and "503" in case.operation.responses.status_codes:
        return None
    return not_a_server_error(ctx, response, case)


@schema.parametrize()
@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_no_undocumented_status(case, client, who):
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=who)
    response = client.request(kwargs.pop("method"), kwargs.pop("url"), **{
        key: value for key, value in kwargs.items() if key in ("params", "headers", "json", "content", "data", "cookies")})
    case.validate_response(response, checks=[no_server_error, status_code_conformance, response_schema_conformance])
