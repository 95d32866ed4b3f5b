"""A serving worker freezes its start-up heap out of garbage collection once it is ready."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

import server.app
from server.app import create_app, init_documents
from server.heap import YOUNGEST_THRESHOLD, settle_heap
from settings import Settings


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_settling_freezes_what_exists_and_collects_the_young_less_often() -> None:
    assert gc.get_freeze_count() == 0
    kept: list[list[int]] = [[]]
    assert any(item is kept for item in gc.get_objects())

    settle_heap()

    # In the permanent generation: no collection looks at it again.
    assert gc.get_freeze_count() > 0
    assert not any(item is kept for item in gc.get_objects())
    assert gc.get_threshold()[0] == YOUNGEST_THRESHOLD


@pytest.mark.parametrize("serving", [True, False], ids=["serving", "embedded in tests"])
async def test_only_a_serving_app_settles_its_heap_once_it_is_ready(
    monkeypatch: pytest.MonkeyPatch, app: Starlette, settings: Settings, serving: bool
) -> None:
    calls: list[bool] = []
    application = create_app(settings, serving=serving)
    monkeypatch.setattr(
        server.app, "settle_heap", lambda: calls.append(hasattr(application.state, "services"))
    )

    try:
        async with application.router.lifespan_context(application):
            # Called once, after the services were built.
            assert calls == ([True] if serving else [])
    finally:
        # Beanie binds the documents to the last app's client: the test app's again.
        await init_documents(app.state.mongo, settings)
