"""The base of every config model: camelCase keys in YAML, snake_case attributes, frozen,
no unknown keys. Its own module so that config sections kept in modules of their own
(:mod:`core.config_reactions`) and :mod:`core.config_models` share it without a cycle."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    """Shared settings: camelCase keys in YAML, snake_case attributes, no unknown keys."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        # The attribute docstrings describe the fields in the JSON Schema; pydantic reading
        # them at import costs every headless verb ~15 ms, so config_schema() reads them.
    )
