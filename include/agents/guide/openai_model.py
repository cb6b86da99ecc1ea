"""The guide's GPT-4o mini call, for `ENCORD_GUIDE_MODEL=agents.guide.openai_model:get_classification_from_the_model`.

The guide's prompt, request and parsing, on the current `openai` client: the guide's
`openai.ChatCompletion.create` was removed in openai 1.0, and its message classes are plain dicts here.
The client reads OPENAI_API_KEY and OPENAI_BASE_URL (OpenAI, or any OpenAI-compatible server on your
network); ENCORD_GUIDE_OPENAI_MODEL overrides the model name.
"""

from __future__ import annotations

import json
import os
from typing import Any

PROMPT = """
    You are an image analysis expert. You're working on a project that includes annotation of different pets images.
    Your task is to assign one of the following tags to the image: "cat", "dog", "other".

    Reply in JSON format of the following structure: { "classification": cat|dog|other }
    """


def get_classification_from_the_model(media_content: str) -> str | None:
    """
    Example function that passes media to OpenAI's ChatGPT API along with the prompt
    and parses the result.
    """
    from openai import OpenAI

    messages: list[Any] = [
        {"role": "system", "content": PROMPT},
        {
            "role": "user",
            "content": [
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:image/jpeg;base64,{media_content}", "detail": "auto"},
                }
            ],
        },
    ]
    completion = OpenAI().chat.completions.create(
        model=os.environ.get("ENCORD_GUIDE_OPENAI_MODEL", "gpt-4o-mini"),
        messages=messages,
        response_format={"type": "json_object"},
        max_tokens=1000,
    )

    raw_text_completion = completion.choices[0].message.content
    try:
        parsed_result = json.loads(raw_text_completion or "")
        return str(parsed_result["classification"]).lower()
    except Exception as e:
        print(f"Failed to process the model response: {e}")
        return None
