"""Documents built from what MongoDB returned, without validating it again.

Every write validates its document (pydantic, the domain rules in this package), so what a
catalog read gets back is already valid. Validating it again on every read cost a product page
more CPU than the query itself: pydantic's validation plus Beanie's per-document set-up, about
30 µs per product, and `model_construct` still 35 µs with its images. `from_stored` builds the
same document in about 7 µs: the stored values as they are (`_id` as `id`, keys that are no field left out), nested models
(images) built the same way, defaults for fields an older document lacks.

Use it only for documents this API wrote and for reads that do not write the document back
as a whole. What it skips is what a validated read would fix: a value of the wrong type stays
wrong, and derived fields (`Product.final_price`) are taken as stored. A test checks that it
builds exactly what `model_validate` builds from the same stored document.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ModelT = TypeVar("ModelT", bound=BaseModel)
_Convert = Callable[[Any], Any]

_new = object.__new__
_set = object.__setattr__


class _Plan:
    """What building one model class takes, worked out once per class."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        # Stored key -> field name; other keys (a computed sort key such as `_score`) are left
        # out, as validation ignores them.
        self.names = {name: name for name in model.model_fields}
        self.names.update(
            {field.alias: name for name, field in model.model_fields.items() if field.alias}
        )
        self.nested: dict[str, _Convert] = {}
        for name, field in model.model_fields.items():
            convert = _converter(field.annotation)
            if convert is not None:
                self.nested[name] = convert
        self.nested_items = tuple(self.nested.items())
        # Field name -> (its default when immutable, else PydanticUndefined; how to compute it
        # per document, as pydantic copies mutable defaults and calls factories).
        self.defaults = {
            name: (_shared_default(field), _default_maker(field))
            for name, field in model.model_fields.items()
            if not field.is_required()
        }
        self.post_init = model.__pydantic_post_init__ is not None and not (
            _only_sets_privates(model)
            and not any(
                attribute.default_factory_takes_validated_data
                for attribute in model.__private_attributes__.values()
            )
        )
        # pydantic's own initialisation of private attributes, worked out once: a factory is
        # called per document, a default copied (unless immutable), no default left unset.
        self.private = [
            (
                name,
                _default_factory(attribute.default_factory, attribute.default),
                attribute.default,
            )
            for name, attribute in model.__private_attributes__.items()
            if attribute.default_factory is not None or attribute.default is not PydanticUndefined
        ]

    def build(self, stored: dict[str, Any]) -> Any:
        names = self.names
        values = {names[key]: value for key, value in stored.items() if key in names}
        fields_set = set(values)
        for name, convert in self.nested_items:
            value = values.get(name)
            if value is not None:
                values[name] = convert(value)
        for name in self.defaults.keys() - fields_set:
            default, make = self.defaults[name]
            values[name] = make(values) if default is PydanticUndefined else default
        instance = _new(self.model)
        _set(instance, "__dict__", values)
        _set(instance, "__pydantic_fields_set__", fields_set)
        _set(instance, "__pydantic_extra__", None)
        if self.post_init:
            # As in `model_construct`: private attributes and the model's post-init hook.
            _set(instance, "__pydantic_private__", None)
            instance.model_post_init(None)
        else:
            private = {
                name: factory() if factory is not None else default
                for name, factory, default in self.private
            }
            _set(instance, "__pydantic_private__", private or None)
        return instance


_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple, frozenset)


def _shared_default(field: FieldInfo) -> Any:
    if field.default_factory is None and isinstance(field.default, _IMMUTABLE):
        return field.default
    return PydanticUndefined


def _default_maker(field: FieldInfo) -> Callable[[dict[str, Any]], Any]:
    """`field.get_default(call_default_factory=True, validated_data=...)`, with what it asks of
    the factory's signature (`inspect.signature`, on every call) asked once."""
    factory = field.default_factory
    if factory is None:
        default = field.default
        return lambda values: copy.deepcopy(default)
    if field.default_factory_takes_validated_data:
        return factory  # type: ignore[return-value]
    return lambda values: factory()  # type: ignore[call-arg]


def _default_factory(factory: Callable[..., Any] | None, default: Any) -> Callable[..., Any] | None:
    """A factory for a default that each instance needs a copy of; None for an immutable one."""
    if factory is not None:
        return factory
    if isinstance(default, _IMMUTABLE):
        return None
    return lambda: copy.deepcopy(default)


def _only_sets_privates(model: type[BaseModel]) -> bool:
    """Whether `model_post_init` only sets private attributes (Beanie's): pydantic's
    `init_private_attributes`, wrapped once per subclass, and no hook of the model's own."""
    hook: Any = model.model_post_init
    while hook is not None:
        if getattr(hook, "__name__", None) != "init_private_attributes":
            return False
        hook = getattr(hook, "__wrapped__", None)
    return True


def _converter(annotation: Any) -> _Convert | None:
    """How to build a field's stored value: a nested model, a list of them, or an optional one;
    None for plain values (strings, numbers, ids, dates), which are kept as stored."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        plan = _plan(annotation)
        return plan.build
    if origin is list:
        (item,) = typing.get_args(annotation)
        convert = _converter(item)
        if convert is None:
            return None
        return lambda values: [convert(value) for value in values]
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(options) == 1:
            return _converter(options[0])
        if any(_converter(option) is not None for option in options):
            raise TypeError(f"from_stored cannot tell which model of {annotation} to build")
    return None


_plans: dict[type[BaseModel], _Plan] = {}


def _plan(model: type[BaseModel]) -> _Plan:
    plan = _plans.get(model)
    if plan is None:
        plan = _plans[model] = _Plan(model)
    return plan


def from_stored(model: type[ModelT], stored: dict[str, Any]) -> ModelT:
    """`model` built from a document as MongoDB returned it, trusted as valid (see above)."""
    built: ModelT = _plan(model).build(stored)
    return built


def reader(model: type[ModelT]) -> Callable[[dict[str, Any]], ModelT]:
    """`from_stored` for one model, as a function of the stored document."""
    build: Callable[[dict[str, Any]], ModelT] = _plan(model).build
    return build
