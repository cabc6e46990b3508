# syntax=docker/dockerfile:1
# One image recipe for every Front Door service; docker-compose.yml passes
# SERVICE (contacts, allocation, notifications, outcomes). Build context:
# the repository root, because every service installs contracts/ and
# services/platform/ too.
FROM python:3.11-slim
ARG SERVICE
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never \
    SERVICE=${SERVICE}
WORKDIR /src
COPY requirements.lock ./
COPY contracts/ contracts/
COPY services/platform/ services/platform/
COPY services/${SERVICE}/ services/${SERVICE}/
# The versions CI tested: every dependency (and the build's setuptools) held to
# requirements.lock's pin and hashes. uv (itself from the lock, hash-checked)
# checks them; pip cannot beside local directories. uv is removed afterwards.
RUN awk '/^uv==/ {p = 1; print; next} /^[^ ]/ {p = 0} p' requirements.lock > /tmp/uv.txt \
    && pip install -q --require-hashes --no-deps -r /tmp/uv.txt \
    && uv pip install -q --system --compile-bytecode -c requirements.lock -b requirements.lock \
        ./contracts ./services/platform ./services/${SERVICE} \
    && pip uninstall -q -y uv && rm /tmp/uv.txt \
    && useradd --system --uid 10001 frontdoor && mkdir /data && chown frontdoor /data
USER frontdoor
VOLUME /data
CMD ["sh", "-c", "exec frontdoor-${SERVICE} serve"]
