"""`sycolab serve`: an OpenAI-compatible server over any sycolab backend.

Routes: ``/health`` (never protected), ``/v1/models``, ``/v1/chat/completions`` (streaming or
not, ``logprobs``/``top_logprobs``, ``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed``)
and ``/v1/completions`` (``echo`` + ``logprobs`` with ``max_tokens`` 0 for prompt
log-probabilities, vLLM's ``prompt_logprobs``, text or token-id prompts). Extensions on both
(advertised under ``sycolab.extensions`` in ``/v1/models``): ``sycolab_choices`` scores
continuations with the engine's ``Backend.score`` (steering included), and
``sycolab_next_token_logprobs`` returns the vocabulary's log-probabilities at the first reply
position. On a steered server every route is steered as the engine steers (see
`sycolab.server._model` for the positions).
"""

from __future__ import annotations

from sycolab.server._app import create_app
from sycolab.server._model import Completion, RequestError, ServedModel, ServerLimits
from sycolab.server._schemas import ChatCompletionRequest, CompletionRequest
from sycolab.server._serve import ServeOptions, build_served_model, is_loopback, serve

__all__ = [
    "ChatCompletionRequest",
    "Completion",
    "CompletionRequest",
    "RequestError",
    "ServeOptions",
    "ServedModel",
    "ServerLimits",
    "build_served_model",
    "create_app",
    "is_loopback",
    "serve",
]
