# FLUX Ultra Studio, one app process per container. Untested: no Docker on the machine this
# was written on (see README, "Running it for a team"). Conventional on purpose.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLUX_STUDIO_DATA_DIR=/data

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY app.py ./
COPY components ./components
COPY pages ./pages
COPY .streamlit/config.toml ./.streamlit/config.toml

# Not root; the data folder (images, thumbnails) is a volume the replicas share.
RUN useradd --create-home --uid 10001 studio && mkdir -p /data && chown studio /data
USER studio
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=2)"

# 0.0.0.0: reachable from the load balancer. Visitors must sign in (a passcode or [auth]):
# behind a proxy no visitor is on loopback, so without either the studio refuses everyone.
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", \
     "--server.headless", "true", "--browser.gatherUsageStats", "false"]
