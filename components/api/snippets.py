"""Ready-to-run reproductions of a request, with the key as a placeholder, never the key."""

from __future__ import annotations

import json
import shlex
from typing import Any

from components.api.contract import DEFAULT_BASE_URL, GENERATE_PATH

KEY_PLACEHOLDER = "<YOUR_AIMLAPI_KEY>"


def curl_snippet(body: dict[str, Any], base_url: str = DEFAULT_BASE_URL) -> str:
    payload = json.dumps(body, indent=2, ensure_ascii=False)
    return (
        "curl -L --request POST \\\n"
        f"  --url {shlex.quote(base_url.rstrip('/') + GENERATE_PATH)} \\\n"
        f"  --header 'Authorization: Bearer {KEY_PLACEHOLDER}' \\\n"
        "  --header 'Content-Type: application/json' \\\n"
        f"  --data {shlex.quote(payload)}"
    )


def python_snippet(body: dict[str, Any], base_url: str = DEFAULT_BASE_URL) -> str:
    # Python literals (repr), not JSON: True/False/None and any quotes in the prompt stay valid.
    items = "".join(f"        {key!r}: {value!r},\n" for key, value in body.items())
    payload = "{\n" + items + "    }"
    return (
        "import requests\n\n"
        "response = requests.post(\n"
        f"    {base_url.rstrip('/') + GENERATE_PATH!r},\n"
        "    headers={\n"
        f'        "Authorization": "Bearer {KEY_PLACEHOLDER}",\n'
        '        "Content-Type": "application/json",\n'
        "    },\n"
        f"    json={payload},\n"
        "    timeout=120,\n"
        ")\n"
        "response.raise_for_status()\n"
        "print(response.json())\n"
    )
