"""Walking a store's listing page by page, as a client follows nextToken (the store tests share it)."""

from __future__ import annotations

from typing import Any


def every_page(store: Any, limit: int, **filters: Any) -> list[str]:
    """The job ids of every page of `store.list_jobs(**filters)`, in order; no page over `limit`."""
    seen: list[str] = []
    token = None
    while True:
        page = store.list_jobs(limit=limit, next_token=token, **filters)
        assert len(page.items) <= limit
        seen.extend(j.job_id for j in page.items)
        if (token := page.next_token) is None:
            return seen
