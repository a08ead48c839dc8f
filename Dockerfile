# predictbot: one process serving Discord and/or Slack with the scheduler.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREDICTBOT_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY storage ./storage
RUN pip install . \
    && useradd --create-home --uid 10001 predictbot \
    && mkdir -p /data \
    && chown predictbot:predictbot /data

USER predictbot
VOLUME ["/data"]
EXPOSE 3000

# Migrations first (safe to repeat), then serve the configured platforms.
CMD ["sh", "-c", "predictbot migrate && exec predictbot run"]
