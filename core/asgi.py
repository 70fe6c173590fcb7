"""Django's ASGI handler with each request's middleware and view run as under WSGI: the whole
synchronous chain in one call, in the request's thread.

Django's own ASGIHandler builds the middleware chain for async: every synchronous middleware
(ours, whitenoise's) makes Django cross between the event loop and the request's thread around
it, and an async-capable one (Django's MiddlewareMixin) below a synchronous one runs its
`process_request` and `process_response` through a thread hop each. An API request then crossed
between the loop and its thread nine times (Django 5.2), and under load each crossing waits for the
GIL (issue 11: asgiref was about a tenth of the workers' Python time under py-spy,
bench/profile_server.py). Here the chain is the one WSGI builds (`load_middleware(is_async=False)`,
the one the test client runs too), entered once per request through `sync_to_async`:
`request_started`, the chain with the view, and the response's close are the request's three
crossings, all to the same thread (thread-sensitive, as Django's are). Nothing else changes:
request parsing, the response's sending, streaming and disconnect handling are ASGIHandler's.
Views are synchronous (the project has no async view: an async one would be run by
async_to_sync inside the chain, as under WSGI).
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """django.core.asgi.get_asgi_application with this handler."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
