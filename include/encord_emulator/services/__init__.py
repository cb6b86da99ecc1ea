"""The emulator's services, one package each (see ``core/services.py`` for the list)."""
