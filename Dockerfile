# syntax=docker/dockerfile:1

# Production image of the commerce GraphQL API.
#
#   docker build -t commerce-graphql .
#   docker run --rm -p 8000:8000 \
#     -e ENVIRONMENT=production \
#     -e MONGODB_URI='mongodb://mongo:27017/?replicaSet=rs0' \
#     -e REDIS_URL='redis://redis:6379/0' \
#     -e JWT_SECRET=... \
#     -e FRONTEND_URL=https://shop.example \
#     -v commerce-media:/data/media \
#     commerce-graphql
#
# The image has no embedded MongoDB/Redis (the `embedded` extra is not installed), so MONGODB_URI
# and REDIS_URL must point at real servers; MongoDB must be a replica set (transactions are used).
# See docker-compose.yml for a complete stack.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: install the project and its dependencies into a self-contained virtualenv -----------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src
# Only what `pip install .` needs: the build metadata and the modules and packages listed under
# [tool.setuptools]. pyproject.toml names README.md as the readme; the [d] glob keeps the build
# working (setuptools only warns) should the file ever be missing.
COPY pyproject.toml README.m[d] ./
COPY settings.py ./
COPY server ./server
COPY schema ./schema
COPY resolvers ./resolvers
COPY documents ./documents
COPY loaders ./loaders
COPY integrations ./integrations
RUN pip install --no-cache-dir .

# --- runtime: the virtualenv only, no sources, no build leftovers, non-root ---------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:${PATH}" \
    HOST=0.0.0.0 \
    PORT=8000

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv

# The working directory stays root-owned. The service writes the local image store,
# DATA_DIR/media (served at /media; unused with CLOUDINARY_URL), and the worker the search index,
# DATA_DIR/search, so DATA_DIR is /data and both belong to the service's user. Mount volumes on
# them to keep them: a new named volume takes its directory's owner (docker-compose.yml does so).
ENV DATA_DIR=/data
RUN mkdir -p /data/search && mkdir -p /data/media && chown -R app:app /data
WORKDIR /app
USER app:app

EXPOSE 8000

# Liveness only (no curl in slim images, so use the interpreter); readiness (/readyz, which also
# checks MongoDB and Redis) is left to the orchestrator, see docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

CMD ["python", "-m", "server", "serve"]
