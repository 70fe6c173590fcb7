import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver(settings):
    """A live loopback receiver (http: LOYALTY_WEBHOOKS_ALLOW_HTTP is on for the test), quick retries."""
    settings.LOYALTY_WEBHOOKS_ALLOW_HTTP = True
    settings.LOYALTY_WEBHOOK_TIMEOUT = 2
    server = Receiver()
    yield server
    server.close()
