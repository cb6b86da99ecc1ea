"""Hooks for the Encord provider."""

from encord_provider.hooks.encord import EncordHook

__all__ = ["EncordHook"]
