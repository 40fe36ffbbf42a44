# The helpdesk service as a container image.
#
#   docker build -t helpdesk .
#   docker run -p 8000:8000 -e HELPDESK_DATABASE_URL=... -e HELPDESK_SECRET_KEY=... helpdesk
#
# The container never starts the embedded PostgreSQL: HELPDESK_DATABASE_URL is required,
# and HELPDESK_ENV=production makes HELPDESK_SECRET_KEY (32+ characters) required too.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: the locked dependencies and the project in /app/.venv --------------------
FROM ${PYTHON_IMAGE} AS builder

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN pip install --no-cache-dir uv==0.13.8

WORKDIR /app

# Dependencies first: this layer is rebuilt only when these three files change.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# Then the project itself. uv installs it in editable mode (a .pth pointing at /app),
# which is what the code expects: app/migrations.py finds alembic.ini and migrations/
# next to app/. So the runtime stage must keep everything at the same path, /app.
COPY app/ ./app/
COPY migrations/ ./migrations/
COPY alembic.ini ./
RUN uv sync --frozen --no-dev

# --- runtime: the venv and the code, run as an unprivileged user -----------------------
FROM ${PYTHON_IMAGE} AS runtime

# A fixed uid/gid, so that volume permissions and orchestrator policies can name it.
RUN groupadd --system --gid 10001 helpdesk \
    && useradd --system --uid 10001 --gid helpdesk --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin helpdesk

WORKDIR /app
# Owned by root and read-only for the service user: it writes nothing to disk.
COPY --from=builder /app /app

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HELPDESK_ENV=production

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

USER helpdesk

# Refuse to start without HELPDESK_DATABASE_URL (otherwise the service would try to
# start an embedded PostgreSQL inside the container), then exec the command so that
# it runs as PID 1 and receives SIGTERM directly.
ENTRYPOINT ["/bin/sh", "-c", "if [ -z \"${HELPDESK_DATABASE_URL}\" ]; then echo 'helpdesk: error: HELPDESK_DATABASE_URL must be set (postgresql://user:pass@host:5432/db)' >&2; exit 1; fi; exec \"$@\"", "--"]
CMD ["helpdesk", "serve", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
