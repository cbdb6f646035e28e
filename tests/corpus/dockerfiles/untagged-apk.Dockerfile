FROM alpine
RUN apk add curl python3 \
    && wget -qO- https://example.com/health.sh | tee /usr/local/bin/health.sh
ENTRYPOINT /usr/local/bin/health.sh
