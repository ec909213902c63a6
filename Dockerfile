# syntax=docker/dockerfile:1
# The tidemark runner image (docs/many-runners.md#the-runner-image): a release build with the Swift
# runtime linked in, on Debian slim with what the binary loads (libpq, MariaDB Connector/C, SQLite,
# libcurl for webhooks and OTLP), pg_dump/pg_restore and mariadb-dump/mariadb for the backups taken
# before data-losing steps.
#
#   docker build -t tidemark:0.1 .
#   docker run --rm -v "$PWD:/work" tidemark:0.1 status -i inventories/demo.yaml
#
# PG_MAJOR picks the PostgreSQL client from apt.postgresql.org: pg_dump must be at least the
# version of the newest server it backs up (a newer pg_dump reads older servers).

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev libmariadb-dev libsqlite3-dev libcurl4-openssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
RUN swift build -c release --product tidemark --static-swift-stdlib \
    && install -D "$(swift build -c release --show-bin-path)/tidemark" /out/tidemark

FROM ${RUNTIME_IMAGE}
ARG PG_MAJOR=17
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# ca-certificates and curl only to trust apt.postgresql.org's key; libcurl4 stays for webhooks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && install -d /usr/share/postgresql-common/pgdg \
    && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc \
    && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
        > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" libpq5 libmariadb3 mariadb-client libsqlite3-0 libcurl4 tzdata \
    && apt-get purge -y --auto-remove curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/tidemark /usr/local/bin/tidemark
# A user of its own, no shell, no home of value: runners need only network access to their
# targets (and the control database) and a working directory for reports and the outbox.
RUN useradd --system --uid 10001 --user-group --home-dir /work --shell /usr/sbin/nologin tidemark \
    && install -d -o tidemark -g tidemark /work
USER 10001:10001
WORKDIR /work
ENV TIDEMARK_LOCK_DIR=/tmp/tidemark-locks
ENTRYPOINT ["/usr/local/bin/tidemark"]
CMD ["--help"]
