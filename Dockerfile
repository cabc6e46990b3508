# syntax=docker/dockerfile:1
# The stack tool (frontdoor-stack): docker-compose.yml runs
# `frontdoor-stack topics` with it, so topics come from the same declaration
# (frontdoor_contracts.topics) as the local runner's. It uses the kit's Kafka
# security settings, so the kit is installed beside it.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never \
    FRONTDOOR_ROOT=/src
WORKDIR /src
COPY requirements.lock ./
COPY contracts/ contracts/
COPY services/platform/ services/platform/
COPY deploy/ deploy/
# Dependencies held to requirements.lock's pins and hashes, as in
# deploy/docker/service.Dockerfile (uv from the lock, then removed).
RUN awk '/^uv==/ {p = 1; print; next} /^[^ ]/ {p = 0} p' requirements.lock > /tmp/uv.txt \
    && pip install -q --require-hashes --no-deps -r /tmp/uv.txt \
    && uv pip install -q --system --compile-bytecode -c requirements.lock -b requirements.lock ./contracts ./services/platform ./deploy/stack \
    && pip uninstall -q -y uv && rm /tmp/uv.txt
USER nobody
ENTRYPOINT ["frontdoor-stack"]
CMD ["--help"]
