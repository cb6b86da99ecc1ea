"""The one place that sets how loud the Encord SDKs are in task logs.

The `encord` SDK logs every HTTP call at INFO (`encord.http.querier`: "Request: {...}") and each upload job
("You can follow the progress in the web app via notifications."); encord-agents logs per task. Our own
lines already say what happened, so these loggers default to WARNING. To see them again, set
`ENCORD_SDK_LOG_LEVEL=INFO` (or DEBUG) in the environment of the workers and the triggerer.
"""

from __future__ import annotations

import logging
import os

SDK_LOGGERS = ("encord", "encord_agents")
LEVEL_VARIABLE = "ENCORD_SDK_LOG_LEVEL"
DEFAULT_LEVEL = "WARNING"


def apply_sdk_log_level() -> str:
    """Set the SDK loggers to $ENCORD_SDK_LOG_LEVEL (default WARNING); returns the level applied."""
    wanted = os.environ.get(LEVEL_VARIABLE, "").strip().upper() or DEFAULT_LEVEL
    level = wanted if wanted in logging.getLevelNamesMapping() else DEFAULT_LEVEL
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(level)
    return level
