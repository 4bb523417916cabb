"""Rendered page images, kept in one least-recently-used cache bounded by bytes.

Pages render on demand and are worth keeping (the model, layout and OCR look at the same page),
but not all of them: iterating a 500-page PDF used to hold every page image (2 GB) for the
life of the document, and region crops rendered at up to 8192 px stayed cached too. Here every
document's images share one process-wide budget (``image_cache_bytes``) and each document has
its own cap (``document_cache_bytes``); the least recently used image goes first. Closing a
document, or losing the last reference to it, releases its images.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

Key = tuple[Any, ...]  # (owner, page index, longest side[, "plain": not cleaned])


def image_bytes(image: Image.Image) -> int:
    return image.width * image.height * len(image.getbands())


class ImageCache:
    """LRU by bytes, process-wide, with a per-owner cap."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Key, Image.Image] = OrderedDict()
        self._owner_bytes: dict[int, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        # Owners to forget. ``drop`` runs from weakref finalizers, which the garbage collector
        # may call on a thread that already holds ``_lock``: it must not take the lock itself.
        self._dropped: deque[int] = deque()

    @property
    def bytes(self) -> int:
        with self._lock:
            self._purge()
            return self._bytes

    def get(self, key: Key) -> Image.Image | None:
        with self._lock:
            self._purge()
            image = self._items.get(key)
            if image is not None:
                self._items.move_to_end(key)
            return image

    def put(self, key: Key, image: Image.Image, owner_cap: int) -> None:
        """Keep ``image`` unless it alone is over a cap; evict older images to make room."""
        size = image_bytes(image)
        owner = key[0]
        if size > min(owner_cap, self.max_bytes):
            return  # bigger than any budget: the caller uses it once and it is gone
        with self._lock:
            self._purge()
            if key in self._items:
                return
            self._evict(lambda k: k[0] == owner, self._owner_bytes.get(owner, 0) + size - owner_cap)
            self._evict(lambda k: True, self._bytes + size - self.max_bytes)
            self._items[key] = image
            self._bytes += size
            self._owner_bytes[owner] = self._owner_bytes.get(owner, 0) + size

    def drop(self, owner: int) -> None:
        """Forget every image of ``owner`` (at the next ``get`` or ``put``; lock-free)."""
        self._dropped.append(owner)  # deque.append is atomic

    def _purge(self) -> None:
        while self._dropped:
            owner = self._dropped.popleft()
            for key in [k for k in self._items if k[0] == owner]:
                self._remove(key)
            self._owner_bytes.pop(owner, None)

    def _evict(self, match: Callable[[Key], bool], excess: int) -> None:
        for key in list(self._items):
            if excess <= 0:
                return
            if match(key):
                excess -= self._remove(key)

    def _remove(self, key: Key) -> int:
        size = image_bytes(self._items.pop(key))
        self._bytes -= size
        self._owner_bytes[key[0]] = self._owner_bytes.get(key[0], 0) - size
        return size


_cache: ImageCache | None = None
_init = threading.Lock()


def shared(max_bytes: int) -> ImageCache:
    """The process-wide cache (sized by the first settings that ask for it)."""
    global _cache
    with _init:
        if _cache is None:
            _cache = ImageCache(max_bytes)
        return _cache
