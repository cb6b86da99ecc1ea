"""Per-key image modes: an ordered list of rules, first match wins, else the build's `image_mode`.

A rule's `match` is one of
- a key prefix when it holds no glob character (`*`, `?`, `[`): `incoming/sequences/`;
- a path glob as in listing filters (`storage.filters.glob_to_regex`) matched against the whole key:
  `incoming/sequences/**`, `**/groups/**`; a glob without `/` matches the last segment: `*_seq_*.jpg`;
- a Python regular expression searched in the key when `regex` is true (`re:` prefix in the CLI form).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from encord_provider.storage.filters import glob_to_regex

GLOB_CHARS = frozenset("*?[")
REGEX_PREFIX = "re:"
Matcher = Callable[[str], object]  # truthy when the key matches


class ImageMode(StrEnum):
    """How images are registered: one entry each, or grouped per prefix as image groups or sequences."""

    SINGLE = "single"
    GROUP = "group"
    SEQUENCE = "sequence"


def parse_image_mode(value: object, where: str) -> ImageMode:
    if isinstance(value, str) and value in {mode.value for mode in ImageMode}:
        return ImageMode(value)
    choices = ", ".join(mode.value for mode in ImageMode)
    raise ValueError(f"{where}: mode {value!r} is not one of {choices}")


@dataclass(frozen=True)
class ImageModeRule:
    """Objects whose key matches `match` are registered with image mode `mode`."""

    match: str
    mode: ImageMode
    regex: bool = False
    matcher: Matcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"image mode rule {self.match!r}"
        object.__setattr__(self, "mode", parse_image_mode(self.mode, where))
        if not self.match:
            raise ValueError("image mode rule: match must not be empty")
        object.__setattr__(self, "matcher", self._compile(where))

    def _compile(self, where: str) -> Matcher:
        if self.regex:
            try:
                return re.compile(self.match).search
            except re.error as err:
                raise ValueError(f"{where}: invalid regular expression: {err}") from err
        if GLOB_CHARS.isdisjoint(self.match):
            return re.compile(re.escape(self.match)).match  # a prefix; faster than a closure
        return glob_to_regex(self.match).match

    @property
    def kind(self) -> str:
        if self.regex:
            return "regex"
        return "prefix" if GLOB_CHARS.isdisjoint(self.match) else "glob"

    @classmethod
    def parse(cls, text: str) -> ImageModeRule:
        """`PATTERN=MODE` (CLI form); `re:REGEX=MODE` for a regular expression. The last `=` splits."""
        pattern, sep, mode = text.rpartition("=")
        if not sep or not pattern:
            raise ValueError(f"image mode rule {text!r} must look like PATTERN=MODE, e.g. 'cams/**=sequence'")
        regex = pattern.startswith(REGEX_PREFIX)
        return cls(pattern.removeprefix(REGEX_PREFIX) if regex else pattern, mode.strip(), regex)  # type: ignore[arg-type]

    @classmethod
    def coerce(cls, value: object, index: int) -> ImageModeRule:
        """A rule from a rule, a `PATTERN=MODE` string or a mapping `{match|regex: ..., mode: ...}`."""
        if isinstance(value, ImageModeRule):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, Mapping):
            return cls._from_mapping(value, index)
        raise ValueError(
            f"image_mode_rules[{index}]: expected a rule, 'PATTERN=MODE' or a mapping, got {value!r}"
        )

    @classmethod
    def _from_mapping(cls, value: Mapping[str, Any], index: int) -> ImageModeRule:
        unknown = sorted(set(value) - {"match", "regex", "mode"})
        if unknown:
            raise ValueError(f"image_mode_rules[{index}]: unknown field(s) {unknown}")
        if ("match" in value) == ("regex" in value):
            raise ValueError(f"image_mode_rules[{index}]: give exactly one of 'match' or 'regex'")
        if "mode" not in value:
            raise ValueError(f"image_mode_rules[{index}]: 'mode' is required")
        regex = "regex" in value
        return cls(str(value["regex" if regex else "match"]), value["mode"], regex)


def compile_rules(rules: tuple[ImageModeRule, ...]) -> tuple[tuple[Matcher, ImageMode], ...]:
    return tuple((rule.matcher, rule.mode) for rule in rules)
