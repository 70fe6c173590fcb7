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


@pytest.fixture
def make_receiver(settings):
    """More loopback receivers, each closed after the test: `make_receiver(statuses=[500])`."""
    settings.LOYALTY_WEBHOOKS_ALLOW_HTTP = True
    made = []

    def make(**options) -> Receiver:
        made.append(Receiver(**options))
        return made[-1]

    yield make
    for server in made:
        server.close()
