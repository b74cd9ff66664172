#!/bin/sh
# What the official postgres image does for the workbook (POSTGRES_HOST_AUTH_METHOD=trust):
# a cluster made on first start, trust authentication, listening on every address of the
# container so the mapped port reaches it.
set -eu
PGDATA=/var/lib/postgresql/data
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  as_postgres initdb -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  # initdb trusts only loopback; the host reaches the container through its bridge address.
  echo 'host all all all trust' >> "$PGDATA/pg_hba.conf"
fi
install -d -o postgres -g postgres /var/run/postgresql
exec setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql \
  postgres -D "$PGDATA" -c listen_addresses='*'
