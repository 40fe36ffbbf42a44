# The helpdesk service as a container image.
#
#   docker build -t helpdesk .
#   docker run -p 8000:8000 -v helpdesk-data:/data \
#       -e HELPDESK_DATABASE_URL=... -e HELPDESK_SECRET_KEY=... helpdesk
#
# Or everything at once, with PostgreSQL and a mail catcher: `docker compose up`
# (compose.yaml). The image carries no PostgreSQL: HELPDESK_DATABASE_URL is required,
# and HELPDESK_ENV=production makes HELPDESK_SECRET_KEY (32+ characters) required too.
# tests/ops/test_container.py replays the builder's steps in a clean folder.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: the locked dependencies and the project, installed into /opt/helpdesk --
FROM ${PYTHON_IMAGE} AS builder

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/helpdesk \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN pip install --no-cache-dir uv==0.13.8

WORKDIR /src

# Dependencies first: this layer is rebuilt only when these three files change.
# No dev group and no 'embedded' extra: the image never runs an embedded PostgreSQL.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --no-editable

# Then the project, as a regular (non-editable) install: the wheel carries
# alembic.ini and the migrations inside the package (app/_migrations), so the
# runtime stage needs nothing from /src.
COPY app/ ./app/
COPY migrations/ ./migrations/
COPY alembic.ini ./
RUN uv sync --frozen --no-dev --no-editable

# --- runtime: the installed environment only, run as an unprivileged user -------------
FROM ${PYTHON_IMAGE} AS runtime

# A fixed uid/gid, so that volume permissions and orchestrator policies can name it.
RUN groupadd --system --gid 10001 helpdesk \
    && useradd --system --uid 10001 --gid helpdesk --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin helpdesk \
    && mkdir /data && chown helpdesk:helpdesk /data

# Owned by root and read-only for the service user.
COPY --from=builder /opt/helpdesk /opt/helpdesk

ENV PATH="/opt/helpdesk/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HELPDESK_ENV=production \
    HELPDESK_DATA_DIR=/data

# The service's writable state: the file mailbox (mail and SMS when no SMTP server or
# SMS provider is configured) and, later, attachments. Mount a volume here.
VOLUME ["/data"]
WORKDIR /data

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

USER helpdesk

# Refuse to start without HELPDESK_DATABASE_URL, then exec the command so that it runs
# as PID 1 and receives SIGTERM directly.
ENTRYPOINT ["/bin/sh", "-c", "if [ -z \"${HELPDESK_DATABASE_URL}\" ]; then echo 'helpdesk: error: HELPDESK_DATABASE_URL must be set (postgresql://user:pass@host:5432/db)' >&2; exit 1; fi; exec \"$@\"", "--"]
# Replicas may all start with this: migrations run under a PostgreSQL advisory lock.
CMD ["helpdesk", "serve", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
