# Base images chosen by build arguments: one with a default, one without.
ARG PYTHON_VERSION=3.12
ARG RUNTIME_IMAGE
FROM python:${PYTHON_VERSION}-slim AS build
RUN pip install --no-cache-dir poetry==1.8.4
COPY pyproject.toml poetry.lock ./
RUN poetry export -f requirements.txt -o /tmp/requirements.txt

FROM ${RUNTIME_IMAGE}
COPY --from=build /tmp/requirements.txt /tmp/requirements.txt
ENV PIP_NO_CACHE_DIR=1
RUN pip install -r /tmp/requirements.txt
USER 1000:1000
HEALTHCHECK NONE
CMD ["python", "-m", "app"]
