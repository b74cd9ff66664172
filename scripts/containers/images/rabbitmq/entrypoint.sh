#!/bin/sh
# Starts one RabbitMQ node in the foreground, named after the container's host name like the
# official image (so the server reports it), logging to the container's output.
set -eu
host=$(uname -n)
# Erlang distribution must resolve the node's host: podman and Docker write it into
# /etc/hosts; where they did not, localhost always resolves.
if getent hosts "$host" >/dev/null 2>&1; then node="rabbit@$host"; else node=rabbit@localhost; fi
# A fresh cookie per container, readable only by rabbitmq, as Erlang insists.
cookie=/var/lib/rabbitmq/.erlang.cookie
if [ ! -s "$cookie" ]; then
  head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$cookie"
fi
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
chmod 0400 "$cookie"
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
  env HOME=/var/lib/rabbitmq RABBITMQ_NODENAME="$node" RABBITMQ_LOGS=- \
  /usr/lib/rabbitmq/bin/rabbitmq-server
