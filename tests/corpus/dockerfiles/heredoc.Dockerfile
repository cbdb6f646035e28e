# syntax=docker/dockerfile:1.7
FROM debian:bookworm-20241111-slim
RUN <<EOF
set -eux
apt-get update
apt-get install -y --no-install-recommends ca-certificates python3
rm -rf /var/lib/apt/lists/*
useradd --system --uid 10001 runner
EOF
COPY <<-CONF /etc/app/app.ini
	[server]
	port = 8080
CONF
USER 10001
HEALTHCHECK CMD ["python3", "-c", "print('ok')"]
ENTRYPOINT ["python3", "-m", "http.server", "8080"]
