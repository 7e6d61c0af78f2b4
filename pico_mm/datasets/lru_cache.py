"""A tiny LRU cache for decoded frames and loaded tracks (pure python)."""
from collections import OrderedDict
from typing import Any, Callable, Dict, Hashable, List

__all__ = ['LRUCache']


class LRUCache:
    """A small least-recently-used cache (per process / dataloader worker).

    Args:
        capacity (int): Number of entries kept (0 disables caching).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self._data: 'OrderedDict[Hashable, Any]' = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """Return the cached value of ``key``, computing it with ``make``."""
        value = self.peek(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def peek(self, key: Hashable) -> Any:
        """Cached value of ``key`` (marked recently used) or None."""
        if key in self._data:
            self._data.move_to_end(key)
            self.hits += 1
            return self._data[key]
        self.misses += 1
        return None

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value``, evicting the least recently used entries."""
        if self.capacity <= 0:
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)
