"""Lists with filters and pages, one object shared by a page and its API twin.

A domain declares each of its lists once:

    PRODUCTS = ListQuery(ProductQuerySchema, lambda user, f: product_query(**f), per_page=50)

and both entry points call it: the API with `PRODUCTS.page(user, query)` (its `api_operation(query=...)` already
loaded the arguments), the page with `PRODUCTS.page(user, PRODUCTS.read(request.args))`. Filtering, ordering and
paging happen in SQL, never in Python; a page number past the end gives an empty page, not an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Select, func, select

from .extensions import db
from .fields import Integer

MAX_PER_PAGE = 500


class PagingSchema(Schema):
    """The paging arguments every list takes; a list's filter schema inherits them."""

    page = Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


@dataclass
class Page:
    items: list
    total: int | None  # None: not counted (`page_of(..., count=False)`), `is_more` says whether a page follows
    page: int
    per_page: int
    is_more: bool = False

    @property
    def pages(self) -> int:
        if self.total is None:
            return self.page + self.is_more
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        if self.total is None:
            return self.is_more
        return self.page * self.per_page < self.total

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (0 on an empty page)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)


def page_of(stmt: Select, *, page: int = 1, per_page: int = 50, scalars: bool = True, count: bool = True) -> Page:
    """One page of a statement's rows, with the total of the whole list; without `count` (a list whose count would
    cost a pass over all of it) one row more is read to tell whether another page follows, and the total stays None."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    total = None
    if count:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    window = stmt.limit(per_page if count else per_page + 1).offset((page - 1) * per_page)
    rows = list(db.session.scalars(window)) if scalars else list(db.session.execute(window))
    return Page(rows[:per_page], total, page, per_page, is_more=len(rows) > per_page)


@dataclass(frozen=True)
class ListQuery:
    """A list's filter schema (a `PagingSchema`) and the statement its filters select, for a given user."""

    schema: type[Schema]
    build: Callable[[Any, dict], Select]
    per_page: int = 50
    scalars: bool = True
    page_defaults: dict = field(default_factory=dict)

    def read(self, args: Mapping) -> dict:
        """A page's filters from its query string: empty fields count as absent, and a bad value falls back to
        the default rather than failing the page (the API, which loads with the schema itself, answers 422)."""
        data = {key: value for key, value in args.items() if value not in ("", None)}
        data.setdefault("per_page", self.per_page)
        schema = self.schema()
        try:
            return schema.load(data, unknown="exclude")
        except ValidationError as err:
            bad = err.messages if isinstance(err.messages, dict) else {}
            return schema.load({k: v for k, v in data.items() if k not in bad}, unknown="exclude")

    def page(self, user, filters: dict) -> Page:
        filters = dict(filters)
        page, per_page = filters.pop("page", 1), filters.pop("per_page", self.per_page)
        return page_of(self.build(user, filters), page=page, per_page=per_page, scalars=self.scalars)


def page_schema(item_schema: type[Schema], name: str | None = None) -> type[Schema]:
    """The API's shape of one page of `item_schema` rows."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "total": Integer(),
        "page": Integer(),
        "per_page": Integer(),
        "has_next": fields.Bool(),
    }, name=name or f"{item_schema.__name__.removesuffix('Schema')}PageSchema")
