# Conveyor in a container: one static binary (modernc's SQLite is pure Go, so no cgo) on
# distroless's static image, run as its non-root user. Build: docker build -t conveyor .
# Several of them on one NATS JetStream cluster: deploy/compose.yaml and docs/cluster.md.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/conveyor ./cmd/conveyor \
	&& mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/conveyor /usr/local/bin/conveyor
# The data directory belongs to the user that runs Conveyor; a named volume mounted on it
# starts with this ownership.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Every `conveyor serve` flag is also an environment variable (CONVEYOR_ + the flag in
# capitals). `conveyor healthcheck` reads CONVEYOR_ADDR too, to probe the port serve listens on.
ENV CONVEYOR_ADDR=0.0.0.0:4010 \
	CONVEYOR_DATA_DIR=/data
# The AWS APIs (EventBridge, CloudTrail, SQS, Lambda), the console, /healthz and /metrics.
EXPOSE 4010
# The embedded JetStream store, or with --nats this node's CloudTrail index and Lambda code.
VOLUME ["/data"]
# The image has no curl or wget: the binary probes itself. /healthz answers 503 while the
# store takes no writes (unreachable, no quorum, full).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
	CMD ["/usr/local/bin/conveyor", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/conveyor"]
CMD ["serve"]
