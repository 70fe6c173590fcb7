"""Ids read from a request (a URL, a query string, a form): is this one a UUID at all?"""

import uuid


def is_uuid(value) -> bool:
    """True for a UUID or its text in any form `uuid.UUID` reads; a look-up by anything else
    would only fail, so callers answer it like an unknown id."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
