"""Titles of manifest entries: derived from keys, at most 300 characters, unique within one manifest."""

from __future__ import annotations

import hashlib

from encord_provider.manifests.datatypes import extension_of

MAX_TITLE_CHARS = 300
HASH_CHARS = 10


def short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:HASH_CHARS]


def fit_title(title: str, max_chars: int = MAX_TITLE_CHARS) -> str:
    """`title` unchanged when short enough, else its head + `~<hash of the whole title>` + extension."""
    if len(title) <= max_chars:
        return title
    ext = extension_of(title)
    ext = ext if len(ext) <= 16 else ""
    head_chars = max_chars - len(ext) - HASH_CHARS - 1
    return f"{title[:head_chars]}~{short_hash(title)}{ext}"


def title_for_key(key: str, strip_prefix: str = "") -> str:
    """Single-object entries: the key (minus `strip_prefix`), shortened deterministically when too long."""
    relative = key[len(strip_prefix) :] if strip_prefix and key.startswith(strip_prefix) else key
    return fit_title(relative or key)


def title_for_group(group_id: str, strip_prefix: str = "") -> str:
    """Multi-object entries: the group id (e.g. the parent prefix without its trailing slash)."""
    relative = (
        group_id[len(strip_prefix) :] if strip_prefix and group_id.startswith(strip_prefix) else group_id
    )
    return fit_title(relative.strip("/") or "_root")


class TitleRegistry:
    """Keeps titles unique within one manifest file: a clash gets a hash suffix of the entry's first key."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def claim(self, title: str, first_key: str) -> str:
        seen = self.seen
        if title not in seen:
            seen.add(title)
            return title
        candidate = fit_title(f"{title}~{short_hash(first_key)}", MAX_TITLE_CHARS)
        if len(f"{title}~{short_hash(first_key)}") > MAX_TITLE_CHARS:
            candidate = (
                f"{title[: MAX_TITLE_CHARS - 2 * HASH_CHARS - 2]}~{short_hash(title)}~{short_hash(first_key)}"
            )
        counter = 2
        unique = candidate
        while unique in seen:
            unique = f"{candidate[: MAX_TITLE_CHARS - 8]}~{counter}"
            counter += 1
        seen.add(unique)
        return unique

    def add(self, title: str) -> None:
        """Record a title the caller checked to be new (fast path)."""
        self.seen.add(title)

    def __len__(self) -> int:
        return len(self.seen)

    def __contains__(self, title: object) -> bool:
        return title in self.seen
