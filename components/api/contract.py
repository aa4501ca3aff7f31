"""The API's rules in one place: endpoint paths, headers, fields, defaults, enums, ranges, sizes,
content types and price.

The client, the form, the validation, the offline backend and the tests all read these names, so
a change to the provider's contract is a change to this file only.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from components.api.errors import ValidationError

DEFAULT_BASE_URL = "https://api.aimlapi.com"
GENERATE_PATH = "/v1/images/generations"
BALANCE_PATH = "/v2/billing"
LEGACY_BALANCE_PATH = "/v1/billing/balance"  # older accounts; tried when /v2 answers 404
BALANCE_PATHS = (BALANCE_PATH, LEGACY_BALANCE_PATH)
# Not the provider's: the studio's own header asking the offline stand-in for a latency. The
# provider ignores unknown headers, but the client only sends it to the offline backend.
LATENCY_HEADER = "X-Flux-Studio-Latency"

# Request tracing and cost (the provider's "Request tracing and cost" page). The client sends
# its own id for a generation; the provider stores it, echoes it and lists it in its usage log,
# so a charge can be matched to a log row even when the answer never arrived.
CLIENT_REQUEST_ID_HEADER = "X-Client-Request-Id"
CLIENT_REQUEST_ID_ECHO_HEADER = "x-client-request-id"
CLIENT_REQUEST_ID_MAX_CHARS = 128
_CLIENT_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{CLIENT_REQUEST_ID_MAX_CHARS}}}")
# Response headers: the id the charge is recorded under (always), and what the request cost
# (non-streaming JSON answers).
INFERENCE_ID_HEADER = "x-inference-id"
CREDITS_USED_HEADER = "x-aimlapi-credits-used"
USD_SPENT_HEADER = "x-aimlapi-usd-spent"
# Where a provider-side request id may come in an answer, besides the body's `requestId`.
REQUEST_ID_HEADERS = ("x-request-id", "x-requestid", "request-id", "x-amzn-requestid")

MODEL = "flux-pro/v1.1-ultra"
MODEL_RAW = "flux-pro/v1.1-ultra-raw"
MODELS = (MODEL, MODEL_RAW)

# Output size per aspect ratio (about 4 megapixels), in the provider's order.
ASPECT_SIZES: dict[str, tuple[int, int]] = {
    "21:9": (3136, 1344),
    "16:9": (2752, 1536),
    "4:3": (2368, 1792),
    "3:2": (2496, 1664),
    "1:1": (2048, 2048),
    "2:3": (1664, 2496),
    "3:4": (1792, 2368),
    "9:16": (1536, 2752),
    "9:21": (1344, 3136),
}
ASPECT_RATIOS = tuple(ASPECT_SIZES)
OUTPUT_FORMATS = ("jpeg", "png")
SAFETY_TOLERANCES = ("1", "2", "3", "4", "5", "6")
PROMPT_MAX_CHARS = 4000
NUM_IMAGES_MIN, NUM_IMAGES_MAX = 1, 4
SEED_MIN = 1
# The contract sets no upper bound; browsers hold widget numbers as IEEE doubles, so anything
# above 2**53 - 1 would silently change on its way through the page and the log.
SEED_MAX = 2**53 - 1
# Range used when the app or the offline backend picks a seed itself (what the provider reports).
RANDOM_SEED_MAX = 2**32 - 1

# Not the provider's numbers but ours: the most any image file the studio accepts may hold (a
# provider answer is about 4 Mpx; these leave room and stop decompression bombs), for
# downloads, saves and imports alike.
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_BYTES = 64 * 1024 * 1024

PRICE_USD_PER_IMAGE = 0.06
CREDITS_PER_USD = 2_000_000

# What a request may ask for (output_format -> content type) ...
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}
# ... and what a downloaded image may turn out to be (Pillow's format name -> content type): the
# provider's CDN has been seen answering WEBP for either request.
DOWNLOAD_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def price_text() -> str:
    """The list price as page text ("$0.06 per image"), so pages never type the number."""
    return f"${PRICE_USD_PER_IMAGE:.2f} per image"


def credits_to_usd(credits: float | None) -> float | None:
    return None if credits is None else credits / CREDITS_PER_USD


def estimate_cost_usd(images: int) -> float:
    return round(images * PRICE_USD_PER_IMAGE, 4)


def valid_client_request_id(value: Any) -> bool:
    """True for a value the provider accepts as X-Client-Request-Id (1-128 of A-Z a-z 0-9 . _ : -);
    the provider drops anything else silently, so the client does not send it."""
    return isinstance(value, str) and _CLIENT_REQUEST_ID.fullmatch(value) is not None


def _whole_number(value: Any) -> int | None:
    """The int a value stands for, or None when it is not a whole number (bools are not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if isinstance(value, str) and re.fullmatch(r"\+?[0-9]+", value.strip()):
        return int(value.strip())
    return None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None


@dataclass(frozen=True)
class GenerationRequest:
    """One call to the generation endpoint, with the contract's defaults."""

    prompt: str = ""
    aspect_ratio: str = "16:9"
    num_images: int = 1
    seed: int | None = None
    raw: bool = False
    output_format: str = "jpeg"
    safety_tolerance: str = "2"
    enable_safety_checker: bool = True

    @property
    def model(self) -> str:
        return MODEL_RAW if self.raw else MODEL

    @property
    def size(self) -> tuple[int, int]:
        return ASPECT_SIZES.get(self.aspect_ratio, (0, 0))

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.output_format, "image/jpeg")

    def estimated_cost_usd(self) -> float:
        return estimate_cost_usd(int(self.num_images))

    def validated(self) -> GenerationRequest:
        """A normalised copy (types coerced), or ValidationError naming every bad field."""
        problems: dict[str, str] = {}
        prompt = self.prompt
        if not isinstance(prompt, str):
            problems["prompt"] = "must be text."
        elif not prompt.strip():
            problems["prompt"] = "is empty: describe the image you want."
        elif len(prompt) > PROMPT_MAX_CHARS:
            problems["prompt"] = (
                f"is {len(prompt)} characters long; the limit is {PROMPT_MAX_CHARS}."
            )

        num = _whole_number(self.num_images)
        if num is None or not NUM_IMAGES_MIN <= num <= NUM_IMAGES_MAX:
            problems["num_images"] = (
                f"must be a whole number from {NUM_IMAGES_MIN} to {NUM_IMAGES_MAX}."
            )

        seed = None
        if self.seed is not None and self.seed != "":
            seed = _whole_number(self.seed)
            if seed is None:
                problems["seed"] = "must be a whole number (or left empty for a random seed)."
            elif seed < SEED_MIN:
                problems["seed"] = f"must be {SEED_MIN} or more."
            elif seed > SEED_MAX:
                problems["seed"] = f"must be at most {SEED_MAX}."

        if self.aspect_ratio not in ASPECT_RATIOS:
            problems["aspect_ratio"] = f"must be one of {', '.join(ASPECT_RATIOS)}."
        fmt = self.output_format.lower() if isinstance(self.output_format, str) else None
        if fmt not in OUTPUT_FORMATS:
            problems["output_format"] = f"must be one of {', '.join(OUTPUT_FORMATS)}."
        tol = self.safety_tolerance
        tol = str(_whole_number(tol)) if _whole_number(tol) is not None else tol
        if tol not in SAFETY_TOLERANCES:
            problems["safety_tolerance"] = "must be 1 (strictest) to 6 (most permissive)."
        raw = _flag(self.raw)
        if raw is None:
            problems["raw"] = "must be true or false."
        checker = _flag(self.enable_safety_checker)
        if checker is None:
            problems["enable_safety_checker"] = "must be true or false."
        if problems:
            raise ValidationError(problems)
        # Each of these is None only together with a problem reported above.
        assert num is not None and raw is not None and checker is not None
        return replace(
            self,
            num_images=num,
            seed=seed,
            output_format=fmt,
            safety_tolerance=tol,
            raw=raw,
            enable_safety_checker=checker,
        )

    def to_body(self) -> dict[str, Any]:
        """The JSON body the provider's schema accepts; raw mode goes to the -raw model id."""
        req = self.validated()
        body: dict[str, Any] = {
            "model": req.model,
            "prompt": req.prompt,
            "num_images": req.num_images,
            "aspect_ratio": req.aspect_ratio,
            "output_format": req.output_format,
            "safety_tolerance": req.safety_tolerance,
            "enable_safety_checker": req.enable_safety_checker,
            "raw": req.raw,
        }
        if req.seed is not None:
            body["seed"] = req.seed
        return body

    def to_params(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> GenerationRequest:
        """Build from any mapping (query string, log row, file metadata); unknown keys ignored."""
        names = {f.name for f in fields(cls)}
        kept = {k: v for k, v in params.items() if k in names and v is not None}
        return cls(**kept)
