# dep-emulator: Apple's DEP/ADE web service, emulated.
# Build: docker build -t dep-emulator .
# Run:   docker run -p 8080:8080 -e DEPEMU_DATABASE_URL=postgresql://user:pw@db/dep dep-emulator
# Without DEPEMU_DATABASE_URL it starts its embedded PostgreSQL under /data.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.12-slim
RUN useradd --create-home --uid 10001 depemu && mkdir -p /data && chown depemu /data
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    DEPEMU_HOST=0.0.0.0 \
    DEPEMU_PORT=8080 \
    DEPEMU_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
USER depemu
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2).status == 200 else 1)"
# `serve` upgrades the schema first, under a PostgreSQL advisory lock, so replicas can start together.
CMD ["dep-emulator", "serve"]
