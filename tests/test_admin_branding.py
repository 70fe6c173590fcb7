"""The back office carries the programme's name, not Django's."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_login_page_and_the_index_are_branded(client, admin_client):
    login = client.get("/admin/login/").content.decode()
    index = admin_client.get("/admin/").content.decode()

    for page in (login, index):
        assert "Loyalty back office" in page
        assert "Django administration" not in page and "Django site admin" not in page
