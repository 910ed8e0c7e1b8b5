"""Pagination for the marketer API."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    # Bounded: `?limit=99999999999999999999` must neither overflow PostgreSQL's bigint
    # nor ask for a million rows in one response.
    max_limit = 500
