"""Turn classified objects into manifest entries: single objects, image groups / sequences, DICOM series.

Streaming assumption: objects arrive in key order (as every bucket listing returns them). A group lives
in a *scope*, a key prefix (its parent "folder", or the regex match up to the end of its capture when the
capture starts the key); all keys inside a scope are contiguous in key order, so a group is complete as
soon as a key outside its scope arrives. Memory is bounded by the largest group, not by the bucket.
Inside a group, members are ordered by natural sort (`frame2` before `frame10`).

Sidecar metadata of members is merged by `metadata.merge_group_metadata` (per-member values under
`member_metadata` when they differ; each part of a split group merges its own members). A group whose
sidecars cannot be merged is rejected with the reason.

Oversized groups: an image sequence longer than `max_sequence_frames` (Encord: 32,767) and an image group
longer than `max_group_objects` are split into near-equal consecutive parts titled
`<title> (part i of n)` with policy `split` (default), or all their objects are rejected with `reject`.
A DICOM series is never split (that would change its meaning): an oversized series is rejected.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from encord_provider.manifests.config import ImageMode, ManifestConfig, OverflowPolicy
from encord_provider.manifests.datatypes import DataType
from encord_provider.manifests.image_modes import compile_rules
from encord_provider.manifests.metadata import MetadataError, merge_group_metadata
from encord_provider.manifests.model import Candidate, Entry
from encord_provider.manifests.titles import fit_title, title_for_group, title_for_key

log = logging.getLogger(__name__)
Reject = Callable[[Candidate, str, str], None]
_DIGITS = re.compile(r"(\d+)")
_NOTHING: list[Entry] = []
IMAGE_MODES = {ImageMode.GROUP: DataType.IMAGE_GROUP, ImageMode.SEQUENCE: DataType.IMAGE_SEQUENCE}


def natural_key(text: str) -> tuple[list[Any], str]:
    parts: list[Any] = _DIGITS.split(text)
    parts[1::2] = [int(number) for number in parts[1::2]]
    return parts, text


class _OpenGroup:
    __slots__ = ("data_type", "group_id", "scope", "members")

    def __init__(self, data_type: DataType, group_id: str, scope: str) -> None:
        self.data_type = data_type
        self.group_id = group_id
        self.scope = scope
        self.members: list[Candidate] = []


class Grouper:
    """Stateful streaming grouper; call `feed` for every candidate, then `finish`."""

    def __init__(self, config: ManifestConfig, reject: Reject, csv_max_rows: int | None = None) -> None:
        self._config = config
        self._reject = reject
        self._regex = re.compile(config.group_regex) if config.group_regex else None
        self._image_type = IMAGE_MODES.get(config.image_mode)
        self._image_rules = tuple(
            (match, IMAGE_MODES.get(mode)) for match, mode in compile_rules(config.image_mode_rules)
        )
        self.open_groups: dict[tuple[DataType, str], _OpenGroup] = {}
        cap = csv_max_rows or config.max_urls
        self._limits = {
            DataType.IMAGE_SEQUENCE: min(config.max_sequence_frames, cap),
            DataType.IMAGE_GROUP: min(config.max_group_objects, cap),
            DataType.DICOM_SERIES: min(config.max_group_objects, cap),
        }
        self.split_groups = 0
        self.metadata_conflicts = 0  # groups whose members' sidecars differ (kept per member)
        self._last_parent: str | None = None

    @property
    def has_image_rules(self) -> bool:
        return bool(self._image_rules)

    @property
    def parent_scopes(self) -> bool:
        """Every group scope is the parent folder of its keys (no `group_regex`)."""
        return self._regex is None

    def group_type(self, kind: DataType, key: str) -> DataType | None:
        """The group type `key` (of type `kind`) joins, or None for a single entry."""
        if kind is DataType.IMAGE:
            return self.image_group_type(key) if self._image_rules else self._image_type
        return self.fixed_group_type(kind)

    def fixed_group_type(self, kind: DataType) -> DataType | None:
        """`group_type` for kinds whose grouping does not depend on the key (all but images with rules)."""
        if kind is DataType.IMAGE:
            return self._image_type
        if kind is DataType.DICOM_SERIES and self._config.group_dicom:
            return DataType.DICOM_SERIES
        return None

    def image_group_type(self, key: str) -> DataType | None:
        for matches, group_type in self._image_rules:
            if matches(key):
                return group_type
        return self._image_type

    def feed(self, candidate: Candidate) -> Iterator[Entry]:
        if self.open_groups:
            yield from self.close_outside(candidate.record.key)
        group_type = self.group_type(candidate.kind, candidate.record.key)
        if group_type is None:
            yield self.single(candidate)
        else:
            self.add_member(group_type, candidate)

    def add_member(self, group_type: DataType, candidate: Candidate) -> None:
        """Put `candidate` into its open group (call `close_outside` for its key first)."""
        group_id, scope = self._group_of(candidate.record.key)
        slot = (group_type, group_id)
        group = self.open_groups.get(slot)
        if group is None:
            group = self.open_groups[slot] = _OpenGroup(group_type, group_id, scope)
            self._last_parent = None  # the next key re-checks every scope
        group.members.append(candidate)

    def finish(self) -> Iterator[Entry]:
        groups = list(self.open_groups.values())
        self.open_groups.clear()
        for group in groups:
            yield from self._emit(group)

    def single(self, candidate: Candidate) -> Entry:
        record = candidate.record
        return Entry(
            candidate.kind,
            title_for_key(record.key, self._config.title_strip_prefix),
            [record],
            [candidate.sidecar_key] if candidate.sidecar_key else None,
            candidate.client_metadata,
            candidate.media_metadata,
        )

    def _group_of(self, key: str) -> tuple[str, str]:
        parent = key[: key.rfind("/") + 1]
        if self._regex is None:
            return parent, parent
        match = self._regex.search(key)
        if match is None:
            return parent, parent
        index: int | str = "group" if "group" in self._regex.groupindex else 1
        group_id = match.group(index) or ""
        scope = key[: match.end(index)] if match.start(index) == 0 else parent
        return group_id, scope

    def close_outside(self, key: str) -> list[Entry]:
        """The groups whose scope `key` is outside of (no later key can join them), as entries."""
        if self._regex is None:
            # Parent-prefix scopes end with "/": a key in the same folder as the last one closes nothing.
            parent = key[: key.rfind("/") + 1]
            if parent == self._last_parent:
                return _NOTHING
            self._last_parent = parent
        done = [slot for slot, group in self.open_groups.items() if not key.startswith(group.scope)]
        if not done:
            return _NOTHING
        return [entry for slot in done for entry in self._emit(self.open_groups.pop(slot))]

    def _emit(self, group: _OpenGroup) -> Iterator[Entry]:
        members = group.members
        if not members:
            return
        members.sort(key=lambda member: natural_key(member.record.key))
        title = title_for_group(group.group_id, self._config.title_strip_prefix)
        limit = self._limits[group.data_type]
        if len(members) <= limit:
            parts = [(title, members)]
        elif (
            group.data_type is DataType.DICOM_SERIES or self._overflow_policy(group) is OverflowPolicy.REJECT
        ):
            reason = f"{group.data_type.value} {title!r} has {len(members)} objects; the limit is {limit}"
            for member in members:
                self._reject(member, reason, "group_too_large")
            return
        else:
            self.split_groups += 1
            parts = _split(title, members, limit)
        for part_title, part in parts:
            entry = self._group_entry(group.data_type, part_title, part)
            if entry is not None:
                yield entry

    def _group_entry(self, data_type: DataType, title: str, members: list[Candidate]) -> Entry | None:
        sidecars = [m.sidecar_key for m in members if m.sidecar_key]
        with_values = [(m.record.key, m.client_metadata) for m in members if m.client_metadata is not None]
        try:
            merged = merge_group_metadata(with_values)
        except MetadataError as exc:
            for member in members:
                self._reject(member, f"{data_type.value} {title!r}: {exc}", "bad_sidecar")
            return None
        if merged.conflicts:
            self.metadata_conflicts += 1
            log.warning(
                "%s %r: member sidecars differ on %s; each member's values are kept under %r",
                data_type.value, title, merged.conflicts, "member_metadata",
            )  # fmt: skip
        return Entry(data_type, title, [m.record for m in members], sidecars or None, merged.value)

    def _overflow_policy(self, group: _OpenGroup) -> OverflowPolicy:
        if group.data_type is DataType.IMAGE_SEQUENCE:
            return self._config.sequence_overflow
        return self._config.group_overflow


def _split(title: str, members: list[Candidate], limit: int) -> list[tuple[str, list[Candidate]]]:
    parts = -(-len(members) // limit)
    size = -(-len(members) // parts)
    titled = []
    for part in range(parts):
        suffix = f" (part {part + 1} of {parts})"
        titled.append(
            (fit_title(title, 300 - len(suffix)) + suffix, members[part * size : (part + 1) * size])
        )
    return titled


def group_entries(candidates: Iterable[Candidate], config: ManifestConfig, reject: Reject) -> Iterator[Entry]:
    """Convenience wrapper over Grouper for a whole candidate stream."""
    grouper = Grouper(config, reject)
    for candidate in candidates:
        yield from grouper.feed(candidate)
    yield from grouper.finish()
