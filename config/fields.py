"""Serializer fields shared by the APIs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class SlugRelatedField(serializers.SlugRelatedField):
    """A slug lookup that refuses NUL before querying (PostgreSQL rejects NUL in text,
    which would otherwise surface as a 500 instead of a field error)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value="(contains NUL)")
        return super().to_internal_value(data)


class WholeItemsListSerializer(serializers.ListSerializer):
    """A nested list whose items are each validated as complete, even in a PATCH.

    DRF passes the root's `partial` down to nested serializers, so under PATCH an item
    missing a required key (`{"sections": [{"title": "no key"}]}`) would pass validation
    and reach the service half-made. A list given in a PATCH replaces the stored one
    whole, so each of its items must be whole: validate it with a standalone copy of the
    child, which is its own (non-partial) root.
    """

    def run_child_validation(self, data: Any) -> Any:
        child = self.child
        assert isinstance(child, serializers.BaseSerializer)
        return type(child)(context=self.context).run_validation(data)
