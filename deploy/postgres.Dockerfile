# PostgreSQL 16 with the hll extension (postgresql-16-hll), which the distinct-count sketches need
# (migration 0019). The official image already has apt.postgresql.org configured.
FROM postgres:16
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-16-hll \
    && rm -rf /var/lib/apt/lists/*
