"""Request bodies checked like the provider checks them (both model ids' JSON schemas).

The offline backend answers 400 "Body validation error" with these details, as the provider does.
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeGuard

from components.api.contract import (
    ASPECT_RATIOS,
    MODEL,
    MODEL_RAW,
    MODELS,
    NUM_IMAGES_MAX,
    NUM_IMAGES_MIN,
    OUTPUT_FORMATS,
    PROMPT_MAX_CHARS,
    SAFETY_TOLERANCES,
    SEED_MIN,
)


class BodyValidationError(ValueError):
    """A request body the provider would refuse; ``issues`` are the zod-style details."""

    def __init__(self, issues: list[str]):
        self.issues = list(issues)
        super().__init__("Body validation error: " + "; ".join(self.issues))


def _json_type(value: Any) -> str:
    """The JSON type name of a parsed value, for "Received ..." details."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _shown(value: Any) -> str:
    """A short JSON rendering of a received value (long ones are cut)."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _enum_text(options: tuple[Any, ...]) -> str:
    return " | ".join(json.dumps(o) for o in options)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_generation_body(body: Any) -> dict[str, Any]:
    """Check a parsed body like the provider's schema; the normalised fields or the error.

    Unknown keys are allowed (the schemas do not forbid them). The plain model id allows
    ``raw`` only false or absent, the ``-raw`` id only true or absent, exactly as the two schema
    files say. Beyond the schema, ``num_images`` must be whole: there is no half an image.
    """
    if not isinstance(body, dict):
        raise BodyValidationError([f"Expected object, Received {_json_type(body)}"])
    issues: list[str] = []

    model = body.get("model")
    if "model" not in body:
        issues.append(f"model: Expected {_enum_text(MODELS)}, Received undefined")
    elif model not in MODELS:
        issues.append(f"model: Expected {_enum_text(MODELS)}, Received {_shown(model)}")

    prompt = body.get("prompt")
    if "prompt" not in body:
        issues.append("prompt: Required. Expected string, Received undefined")
    elif not isinstance(prompt, str):
        issues.append(f"prompt: Expected string, Received {_json_type(prompt)}")
    elif len(prompt) > PROMPT_MAX_CHARS:
        issues.append(
            f"prompt: Expected string of at most {PROMPT_MAX_CHARS} characters, "
            f"Received {len(prompt)} characters"
        )

    num_images = body.get("num_images", NUM_IMAGES_MIN)
    if not _is_number(num_images):
        issues.append(f"num_images: Expected number, Received {_json_type(num_images)}")
    elif not NUM_IMAGES_MIN <= num_images <= NUM_IMAGES_MAX or num_images != int(num_images):
        issues.append(
            f"num_images: Expected whole number from {NUM_IMAGES_MIN} to {NUM_IMAGES_MAX}, "
            f"Received {_shown(num_images)}"
        )

    seed = body.get("seed")
    if "seed" in body:
        if not (_is_number(seed) and math.isfinite(seed) and seed == int(seed)):
            shown = _json_type(seed) if not _is_number(seed) else _shown(seed)
            issues.append(f"seed: Expected integer, Received {shown}")
        elif seed < SEED_MIN:
            issues.append(f"seed: Expected integer >= {SEED_MIN}, Received {_shown(seed)}")

    tolerance = body.get("safety_tolerance", "2")
    if tolerance not in SAFETY_TOLERANCES or not isinstance(tolerance, str):
        issues.append(
            f"safety_tolerance: Expected {_enum_text(SAFETY_TOLERANCES)}, "
            f"Received {_shown(tolerance)}"
        )

    output_format = body.get("output_format", OUTPUT_FORMATS[0])
    if output_format not in OUTPUT_FORMATS or not isinstance(output_format, str):
        issues.append(
            f"output_format: Expected {_enum_text(OUTPUT_FORMATS)}, "
            f"Received {_shown(output_format)}"
        )

    checker = body.get("enable_safety_checker", True)
    if not isinstance(checker, bool):
        issues.append(f"enable_safety_checker: Expected boolean, Received {_json_type(checker)}")

    aspect_ratio = body.get("aspect_ratio", "16:9")
    if aspect_ratio not in ASPECT_RATIOS or not isinstance(aspect_ratio, str):
        issues.append(
            f"aspect_ratio: Expected {_enum_text(ASPECT_RATIOS)}, Received {_shown(aspect_ratio)}"
        )

    raw = body.get("raw")
    if "raw" in body:
        if not isinstance(raw, bool):
            issues.append(f"raw: Expected boolean, Received {_json_type(raw)}")
        elif model == MODEL and raw:
            issues.append(
                f"raw: Expected false for model {json.dumps(MODEL)} (raw mode is model "
                f"{json.dumps(MODEL_RAW)}), Received true"
            )
        elif model == MODEL_RAW and not raw:
            issues.append(f"raw: Expected true for model {json.dumps(MODEL_RAW)}, Received false")

    if issues:
        raise BodyValidationError(issues)
    return {
        "model": model,
        "prompt": prompt,
        "num_images": int(num_images),
        "seed": int(seed) if seed is not None else None,
        "safety_tolerance": tolerance,
        "output_format": output_format,
        "enable_safety_checker": checker,
        "aspect_ratio": aspect_ratio,
        "raw": model == MODEL_RAW,
    }
