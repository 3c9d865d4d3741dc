import pytest

from tests.browser import serve


@pytest.fixture
def live_server(app, loaded):
    with serve(app) as base:
        yield base
