# syntax=docker/dockerfile:1
# One image recipe for every Front Door service; docker-compose.yml passes
# SERVICE (contacts, allocation, notifications, outcomes). Build context:
# the repository root, because every service installs contracts/ and
# services/platform/ too.
FROM python:3.11-slim
ARG SERVICE
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 SERVICE=${SERVICE}
WORKDIR /src
COPY contracts/ contracts/
COPY services/platform/ services/platform/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN pip install ./contracts ./services/platform ./services/${SERVICE} && useradd --system --uid 10001 frontdoor \
    && mkdir /data && chown frontdoor /data
USER frontdoor
VOLUME /data
CMD ["sh", "-c", "exec frontdoor-${SERVICE} serve"]
