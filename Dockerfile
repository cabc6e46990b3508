# syntax=docker/dockerfile:1
# The stack tool (frontdoor-stack): docker-compose.yml runs
# `frontdoor-stack topics` with it, so topics come from the same declaration
# (frontdoor_contracts.topics) as the local runner's.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 FRONTDOOR_ROOT=/src
WORKDIR /src
COPY contracts/ contracts/
COPY deploy/ deploy/
RUN pip install ./contracts ./deploy/stack
USER nobody
ENTRYPOINT ["frontdoor-stack"]
CMD ["--help"]
