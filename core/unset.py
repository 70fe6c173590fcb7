"""`UNSET`: the default of an optional keyword argument of an update service, so that "not
given" (leave the field alone) differs from None (set it to null). `given(...)` keeps the
arguments the caller did pass."""

from typing import Any


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


def given(**fields: Any) -> dict[str, Any]:
    """The keyword arguments that were passed (not UNSET), in order."""
    return {name: value for name, value in fields.items() if value is not UNSET}
