"""Never pay twice: a seeded request identical to an earlier success is answered from that
request's stored originals, at once and for free.

Identical means the same backend and base URL (an offline preview never answers a real
request), and the same canonical body (model, every parameter, num_images included) but the
seed; then the seed asked for must equal the seed the earlier request actually used. A request
with no seed asks for a new picture, so it is never answered from the log; nor is one whose
earlier files are gone.
"""

from __future__ import annotations

import hashlib
import json

from components.api.contract import GenerationRequest


def request_key(backend: str, base_url: str, request: GenerationRequest) -> str | None:
    """What makes two requests the same, seed aside (None for a request that cannot be sent)."""
    try:
        body = request.to_body()
    except ValueError:
        return None
    body.pop("seed", None)
    canonical = json.dumps(
        {"backend": str(backend), "base_url": base_url.strip().rstrip("/"), "body": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def reusable_seed(request: GenerationRequest) -> int | None:
    """The seed a request explicitly asks for (None: a new random picture each time)."""
    seed = request.seed
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None
