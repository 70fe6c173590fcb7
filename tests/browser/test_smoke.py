import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_superuser_logs_in_and_sees_the_branded_index(page, screenshot):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    log_in(page, "root", "pw-root-123")
    assert "Loyalty back office" in page.title() or "Loyalty back office" in page.content()
    assert screenshot("index").stat().st_size > 0
