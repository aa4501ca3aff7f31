"""The anchor: the app a user writes in 40 lines from the provider's example. Post the request,
show the URL it answers with. No thumbnails, no log, no retries. bench/latency.py times the
studio against it; it is not part of the studio.

Run: AIMLAPI_API_KEY=... AIMLAPI_BASE_URL=... streamlit run bench/anchor_app.py
"""

import os
from concurrent.futures import ThreadPoolExecutor

import requests
import streamlit as st

API_KEY = os.environ["AIMLAPI_API_KEY"]
BASE_URL = os.environ.get("AIMLAPI_BASE_URL", "https://api.aimlapi.com")


def generate(prompt: str) -> str:
    response = requests.post(
        f"{BASE_URL}/v1/images/generations",
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        json={"model": "flux-pro/v1.1-ultra", "prompt": prompt, "aspect_ratio": "16:9"},
        timeout=120,
    )
    response.raise_for_status()
    return response.json()["images"][0]["url"]


st.title("FLUX 1.1 [pro] Ultra")
prompt = st.text_input("Prompt", "A lighthouse on a cliff at dusk")
count = st.number_input("Images", 1, 8, int(st.query_params.get("n", 1)))
if st.button("Generate"):
    # Several at once: one thread each, shown together when all are back.
    with ThreadPoolExecutor(count) as pool:
        urls = list(pool.map(generate, [prompt] * count))
    for column, url in zip(st.columns(min(count, 4)) * 2, urls, strict=False):
        column.image(url, alt="result")
