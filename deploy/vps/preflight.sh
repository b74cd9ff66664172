#!/bin/sh
# The VPS stack's first service (deploy/vps/compose.yml): every other service waits for it to
# exit 0. It refuses a secret that is unset, short, a published default (postgres, guest, the
# placeholders of deploy/vps/.env.example), or holding characters that would break the
# connection URLs the app is given (postgres://user:PASSWORD@postgres:5432/…).
# deploy/tests/compose.test.ts runs it with good and bad values.
set -u
failed=0
refuse() {
  echo "preflight: $1" >&2
  failed=1
}
for name in POSTGRES_PASSWORD RABBITMQ_DEFAULT_PASS REDIS_PASSWORD GRAFANA_ADMIN_PASSWORD; do
  eval "value=\${$name:-}"
  case "$value" in
    "") refuse "$name is not set. Set it in deploy/vps/.env (generate one with: openssl rand -hex 24)." ;;
    postgres | guest | admin | password | changeme | change-me | replace-me* | secret)
      refuse "$name is still the published default \"$value\". Replace it in deploy/vps/.env with: openssl rand -hex 24." ;;
    *[!A-Za-z0-9_-]*)
      refuse "$name has characters other than letters, digits, - and _, which would break the connection URLs built from it. Use: openssl rand -hex 24." ;;
    *)
      if [ "${#value}" -lt 16 ]; then refuse "$name is ${#value} characters long; use at least 16 (openssl rand -hex 24 gives 48)."; fi ;;
  esac
done
for name in POSTGRES_USER RABBITMQ_DEFAULT_USER; do
  eval "value=\${$name:-}"
  case "$value" in
    "") refuse "$name is not set. Set it in deploy/vps/.env (for example auction)." ;;
    guest) refuse "$name is guest, which RabbitMQ lets log in from localhost only and every scanner tries first. Choose another user name in deploy/vps/.env." ;;
  esac
done
case "${DOMAIN:-}" in
  "" | example.com | auction.example.com) refuse "DOMAIN is \"${DOMAIN:-}\": set it to the name whose DNS A/AAAA records point at this server (README, Deploying to a VPS, step 3)." ;;
esac
if [ "$failed" -ne 0 ]; then
  echo "preflight: refusing to start the stack. Fix deploy/vps/.env, then run the same docker compose up again." >&2
  exit 1
fi
echo "preflight: secrets are set and none is a published default."
