"""Presets that reproduce: a named, complete request. A prompt template with variables
(`{subject}`, `{style}`), every parameter, and a seed policy (a fixed seed, a new random one,
or a list). The same preset with the same variables and a fixed seed gives the same request
body, byte for byte. Kept in the log's database; exported and imported as JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select, update

from components.api.contract import SEED_MAX, SEED_MIN, GenerationRequest
from components.log.codec import to_utc_iso
from components.log.schema import presets
from components.log.store import LogStore

# `{name}`: a variable. `{a|b}` (Compare's prompt variants) is not one, so a template written
# for Compare keeps its meaning.
VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
NAME_MAX = 60
FORMAT = "flux-studio-presets"
VERSION = 1


class SeedPolicy(StrEnum):
    FIXED = "fixed"
    RANDOM = "random"
    LIST = "list"


class PresetError(ValueError):
    """A preset that cannot be saved, read or applied (the message says why)."""


@dataclass(frozen=True)
class Preset:
    name: str
    template: str
    aspect_ratio: str = "16:9"
    raw: bool = False
    output_format: str = "jpeg"
    safety_tolerance: str = "2"
    enable_safety_checker: bool = True
    num_images: int = 1
    seed_policy: SeedPolicy = SeedPolicy.RANDOM
    seeds: tuple[int, ...] = field(default_factory=tuple)

    def variables(self) -> list[str]:
        """The template's variables, in order of first use."""
        return list(dict.fromkeys(VARIABLE.findall(self.template)))

    def prompt(self, values: Mapping[str, str]) -> str:
        missing = [v for v in self.variables() if not str(values.get(v, "")).strip()]
        if missing:
            raise PresetError(f"Fill in {', '.join('{' + m + '}' for m in missing)}.")
        return VARIABLE.sub(lambda m: str(values[m.group(1)]).strip(), self.template)

    def request(self, values: Mapping[str, str], seed: int | None = None) -> GenerationRequest:
        """The request this preset makes with these variables. The seed follows the policy
        (a fixed seed, the first of the list, or none for a random one) unless given."""
        if seed is None and self.seed_policy == SeedPolicy.FIXED and self.seeds:
            seed = self.seeds[0]
        if seed is None and self.seed_policy == SeedPolicy.LIST and self.seeds:
            seed = self.seeds[0]
        return GenerationRequest(
            prompt=self.prompt(values),
            aspect_ratio=self.aspect_ratio,
            raw=self.raw,
            output_format=self.output_format,
            safety_tolerance=self.safety_tolerance,
            enable_safety_checker=self.enable_safety_checker,
            num_images=self.num_images,
            seed=seed,
        )

    def checked(self) -> Preset:
        name = " ".join(self.name.split())
        if not name or len(name) > NAME_MAX:
            raise PresetError(f"A preset needs a name of 1 to {NAME_MAX} characters.")
        if not self.template.strip():
            raise PresetError("A preset needs a prompt.")
        policy = SeedPolicy(self.seed_policy)
        seeds = tuple(int(s) for s in self.seeds)
        if any(not SEED_MIN <= s <= SEED_MAX for s in seeds):
            raise PresetError(f"Seeds go from {SEED_MIN} to {SEED_MAX}.")
        if policy in (SeedPolicy.FIXED, SeedPolicy.LIST) and not seeds:
            raise PresetError("A fixed seed or a seed list needs at least one seed.")
        preset = Preset(
            name, self.template, self.aspect_ratio, bool(self.raw), self.output_format,
            str(self.safety_tolerance), bool(self.enable_safety_checker), int(self.num_images),
            policy, seeds,
        )  # fmt: skip
        # Every parameter must be one the API takes (filled with a stand-in for variables).
        try:
            preset.request({v: "x" for v in preset.variables()}).validated()
        except ValueError as exc:
            raise PresetError(f"Not a valid request: {exc}") from None
        return preset

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seed_policy"] = self.seed_policy.value
        data["seeds"] = list(self.seeds)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preset:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        # Types as written by `to_dict`: a file edited by hand must not turn "false" into True.
        for name, kind in _KINDS.items():
            if name in known and not isinstance(known[name], kind):
                raise PresetError(f"Not a preset: {name} has the wrong type.")
        try:
            known["seeds"] = tuple(int(s) for s in known.get("seeds", ()))
            known["seed_policy"] = SeedPolicy(known.get("seed_policy", SeedPolicy.RANDOM))
            return cls(**known).checked()
        except (TypeError, ValueError) as exc:
            raise PresetError(f"Not a preset: {exc}") from None

    @classmethod
    def from_request(cls, name: str, request: GenerationRequest) -> Preset:
        """Save the form as a preset: a seed in the form is fixed; none is random."""
        seed = request.seed if isinstance(request.seed, int) else None
        return cls(
            name=name,
            template=str(request.prompt),
            aspect_ratio=str(request.aspect_ratio),
            raw=bool(request.raw),
            output_format=str(request.output_format),
            safety_tolerance=str(request.safety_tolerance),
            enable_safety_checker=bool(request.enable_safety_checker),
            num_images=int(request.num_images) if isinstance(request.num_images, int) else 1,
            seed_policy=SeedPolicy.FIXED if seed is not None else SeedPolicy.RANDOM,
            seeds=(seed,) if seed is not None else (),
        ).checked()


def export_json(items: Sequence[Preset]) -> bytes:
    payload = {"format": FORMAT, "version": VERSION, "presets": [p.to_dict() for p in items]}
    return json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")


def import_json(data: bytes) -> list[Preset]:
    """Every preset of an export, checked; PresetError for a file that is not one."""
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PresetError("Not a presets file: it is not JSON.") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise PresetError("Not a presets file from FLUX Ultra Studio.")
    items = payload.get("presets")
    if not isinstance(items, list) or len(items) > 500:
        raise PresetError("A presets file holds a list of at most 500 presets.")
    return [Preset.from_dict(item) for item in items if isinstance(item, dict)]


_KINDS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "template": str,
    "aspect_ratio": str,
    "raw": bool,
    "output_format": str,
    "safety_tolerance": (str, int),
    "enable_safety_checker": bool,
    "num_images": int,
    "seed_policy": str,
    "seeds": list,
}


class PresetStore:
    def __init__(self, store: LogStore) -> None:
        self.store = store

    def all(self) -> list[Preset]:
        with self.store.reader() as conn:
            rows = conn.execute(select(presets.c.data).order_by(presets.c.name)).scalars()
            found = list(rows)
        out = []
        for text in found:
            try:
                out.append(Preset.from_dict(json.loads(text)))
            except (PresetError, ValueError):
                continue  # a row edited by hand into nonsense is skipped, not fatal
        return out

    def get(self, name: str) -> Preset | None:
        return next((p for p in self.all() if p.name == name), None)

    def save(self, preset: Preset) -> Preset:
        """Add, or replace the one with the same name."""
        preset = preset.checked()
        now = to_utc_iso(datetime.now(UTC))
        text = json.dumps(preset.to_dict(), ensure_ascii=False, sort_keys=True)
        with self.store.transaction() as conn:
            found = conn.execute(
                update(presets)
                .where(presets.c.name == preset.name)
                .values(data=text, updated_at=now)
            )
            if found.rowcount == 0:
                conn.execute(insert(presets).values(name=preset.name, data=text, updated_at=now))
        return preset

    def delete(self, name: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(delete(presets).where(presets.c.name == name))
