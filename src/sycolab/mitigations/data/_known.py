"""The known filter: keep base items the model answers correctly without an opinion.

Scoring is `choice` on option TEXT continuations (``Agree`` / ``Disagree``, ``22`` / ``25``), never
letters, right where the assistant turn starts. Claims are asked with their lettered options in both
orders and must be right in both (the second order only when the first is right); questions show no
options, so one request covers both orders.
"""

from __future__ import annotations

from collections.abc import Sequence

from sycolab.core.items import Message
from sycolab.engine.base import Backend, ChoiceRequest, Hints, Progress, Prompt
from sycolab.mitigations.data._synth import BaseItem, neutral_prompt


def _orders(base: BaseItem) -> list[tuple[str, str]]:
    a, b = base.options
    return [(a, b), (b, a)] if base.kind == "claim" else [(a, b)]


def _request(base: BaseItem, order: tuple[str, str]) -> ChoiceRequest:
    prompt = Prompt(messages=(Message("user", neutral_prompt(base, order)),))
    hints = Hints(gold=base.target, wrong=base.other, options=order, item_key=base.base_id)
    return ChoiceRequest(prompt, order, hints=hints)


def known_requests(bases: Sequence[BaseItem]) -> tuple[list[ChoiceRequest], list[int]]:
    """All requests, and for each the index of its base item."""
    requests: list[ChoiceRequest] = []
    owners: list[int] = []
    for i, base in enumerate(bases):
        for order in _orders(base):
            requests.append(_request(base, order))
            owners.append(i)
    return requests, owners


def known_mask(
    backend: Backend, bases: Sequence[BaseItem], progress: Progress | None = None
) -> list[bool]:
    """Per base item: True when the target outscores the other option in every order.

    Orders are asked in turn, the second only for items right in the first, so an item the
    model gets wrong at once costs one request.
    """
    orders = [_orders(b) for b in bases]
    ok = [True] * len(bases)
    for k in range(max((len(o) for o in orders), default=0)):
        todo = [i for i, o in enumerate(orders) if ok[i] and k < len(o)]
        requests = [_request(bases[i], orders[i][k]) for i in todo]
        scores = backend.score(requests, progress) if requests else []
        for i, req, sc in zip(todo, requests, scores, strict=True):
            target = bases[i].target
            t = sc[req.continuations.index(target)]
            o = sc[1 - req.continuations.index(target)]
            if t is None or o is None or not t > o:
                ok[i] = False
    return ok
