"""What every settings section is: a pydantic model that refuses keys it does not know."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["Section"]


class Section(BaseModel):
    model_config = {"extra": "forbid", "validate_assignment": True}
