"""The guide's pre-classification model: the local colour stand-in, and swapping it by ENCORD_GUIDE_MODEL."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from agents.guide.model import MODEL_ENV, colour_stand_in, get_classification_from_the_model
from PIL import Image


def _b64_png(colour: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("utf-8")


def always_dog(media_content: str) -> str:
    return "dog"


@pytest.mark.parametrize(
    ("colour", "answer"),
    [((200, 60, 40), "cat"), ((30, 40, 210), "dog"), ((120, 120, 120), "other"), ((150, 140, 60), "other")],
)
def test_the_stand_in_answers_by_dominant_colour(colour: tuple[int, int, int], answer: str) -> None:
    assert colour_stand_in(_b64_png(colour)) == answer


def test_media_that_is_not_an_image_is_other() -> None:
    assert colour_stand_in(base64.b64encode(b"\x00\x00\x00\x18ftypmp42").decode()) == "other"
    assert colour_stand_in("not base64!") == "other"


def test_the_model_is_swapped_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    red = _b64_png((200, 60, 40))
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert get_classification_from_the_model(red) == "cat"
    monkeypatch.setenv(MODEL_ENV, "tests.unit.test_guide_model:always_dog")
    assert get_classification_from_the_model(red) == "dog"
    monkeypatch.setenv(MODEL_ENV, "tests.unit.test_guide_model")
    with pytest.raises(ValueError, match="must look like 'package.module:function'"):
        get_classification_from_the_model(red)


class _ChatCompletions(BaseHTTPRequestHandler):
    """An OpenAI-compatible `POST /v1/chat/completions` that answers `reply` and keeps the requests."""

    requests: list[dict[str, Any]] = []
    reply = '{"classification": "Dog"}'

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers["Authorization"], "body": body})
        answer = json.dumps({
            "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": type(self).reply}}],
        }).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_ChatCompletions]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv(MODEL_ENV, "agents.guide.openai_model:get_classification_from_the_model")
    _ChatCompletions.requests, _ChatCompletions.reply = [], '{"classification": "Dog"}'
    yield _ChatCompletions
    server.shutdown()
    server.server_close()


def test_the_guide_openai_call_through_an_openai_compatible_server(openai_server: Any) -> None:
    image = _b64_png((200, 60, 40))
    assert get_classification_from_the_model(image) == "dog"  # the server's answer, not the colour
    (request,) = openai_server.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "gpt-4o-mini" and body["response_format"] == {"type": "json_object"}
    assert '"cat", "dog", "other"' in body["messages"][0]["content"]
    assert body["messages"][1]["content"][0]["image_url"]["url"] == f"data:image/jpeg;base64,{image}"
    openai_server.reply = "I think it is a dog"  # not JSON: no usable answer, the script routes "Other"
    assert get_classification_from_the_model(image) is None
