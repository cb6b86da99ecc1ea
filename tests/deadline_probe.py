"""A deadline callback for tests: the default one's message, also written to a file named in its kwargs,
so a test in another process (the triggerer) can see that a missed deadline fired it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from encord_provider.deadlines import log_missed_deadline, missed_deadline_message


async def record_missed_deadline(
    pipeline: str, dag_id: str, after: float, marker: str, context: Any = None, **_: Any
) -> None:
    await log_missed_deadline(pipeline, dag_id, after, context)
    message = missed_deadline_message(pipeline, dag_id, after, context)
    Path(marker).write_text(json.dumps({"message": message, "context": context}, default=str))
