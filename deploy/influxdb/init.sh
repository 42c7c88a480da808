#!/bin/bash
# InfluxDB 2.x set-up for the Mỹ Tho platform (issue #19). The official image runs it once, on first setup, from
# /docker-entrypoint-initdb.d (after `influx setup` made the org, the raw bucket and the admin's CLI config; the
# image exports DOCKER_INFLUXDB_INIT_ORG and DOCKER_INFLUXDB_INIT_BUCKET). It is safe to run again on an existing
# server, e.g. after upgrading from a compose file without it:
#   docker compose exec influxdb /docker-entrypoint-initdb.d/init.sh
#
# What it makes, as the services expect it (docker-compose.yml, packages/storage/src/influx-store.ts):
#   buckets   <db> (raw readings, MYTHO_RETENTION_RAW_DAYS), <db>_5m and <db>_1h (roll-ups, MYTHO_RETENTION_5M_DAYS,
#             MYTHO_RETENTION_1H_DAYS); 0 days = forever. InfluxDB 2.x enforces retention per bucket, and the services'
#             v1 API cannot change it: this is where RETENTION_*_DAYS take effect.
#   DBRP      database <db>: retention policy autogen (default) -> <db>, rp_5m -> <db>_5m, rp_1h -> <db>_1h, the names the
#             services read and write through InfluxDB's v1 API.
#   tokens    written into $MYTHO_INFLUX_TOKEN_DIR/ingest/token and …/api/token: compose binds there the files
#             ./secrets/ingest_influx_token and api_influx_token (deploy/make-secrets.sh leaves them empty), which the
#             ingest and the API are given as Docker secrets and read as INFLUX_TOKEN_FILE. So neither service holds
#             the all-access admin token, and each only its own.
set -euo pipefail

org=${DOCKER_INFLUXDB_INIT_ORG:?DOCKER_INFLUXDB_INIT_ORG is not set}
db=${DOCKER_INFLUXDB_INIT_BUCKET:?DOCKER_INFLUXDB_INIT_BUCKET is not set}
raw_days=${MYTHO_RETENTION_RAW_DAYS:-90}
five_minute_days=${MYTHO_RETENTION_5M_DAYS:-730}
hour_days=${MYTHO_RETENTION_1H_DAYS:-0}
token_dir=${MYTHO_INFLUX_TOKEN_DIR:-/run/influx-tokens}

for days in "$raw_days" "$five_minute_days" "$hour_days"; do
	[[ $days =~ ^[0-9]+$ ]] || {
		echo "init.sh: retention days must be whole numbers (0 = forever), got '$days'" >&2
		exit 1
	}
done

# `influx bucket … --retention` takes a duration; 0 means forever.
retention() { if [ "$1" -gt 0 ]; then echo "${1}d"; else echo 0; fi; }

bucket_id() { influx bucket list --org "$org" --name "$1" --hide-headers 2>/dev/null | cut -f 1 || true; }

# ensure_bucket NAME DAYS: creates the bucket, or sets its retention when it exists; prints its ID.
ensure_bucket() {
	local id
	id=$(bucket_id "$1")
	if [ -z "$id" ]; then
		influx bucket create --org "$org" --name "$1" --retention "$(retention "$2")" >/dev/null
		id=$(bucket_id "$1")
	else
		influx bucket update --id "$id" --retention "$(retention "$2")" >/dev/null
	fi
	[ -n "$id" ] || {
		echo "init.sh: bucket $1 was not created" >&2
		exit 1
	}
	echo "$id"
}

# ensure_dbrp RP BUCKET_ID [--default]: maps database $db, policy RP to the bucket unless a mapping exists.
ensure_dbrp() {
	if influx v1 dbrp list --org "$org" --db "$db" --rp "$1" --hide-headers 2>/dev/null | grep -q .; then return 0; fi
	influx v1 dbrp create --org "$org" --db "$db" --rp "$1" --bucket-id "$2" "${@:3}" >/dev/null
}

# make_token FILE DESCRIPTION PERMISSION-FLAGS…: an API token with just those permissions, written to FILE (kept when
# it exists: a second run must not hand the service a new token it was not restarted with).
make_token() {
	local file=$1 description=$2 token
	shift 2
	[ -s "$file" ] && return 0
	mkdir -p "$(dirname "$file")"
	# --json: the CLI prints the authorization as tab-indented JSON, one key a line.
	token=$(influx auth create --org "$org" --description "$description" "$@" --json | sed -n 's/^[[:space:]]*"token":[[:space:]]*"\([^"]*\)".*/\1/p')
	[ -n "$token" ] || {
		echo "init.sh: no token came back for $description" >&2
		exit 1
	}
	# Written in place, not renamed over: the file is a bind mount of the host's ./secrets file, and a new inode would
	# not reach the host. Readable by all (444, as make-secrets.sh makes it): the services run as the `node` user.
	printf '%s' "$token" >"$file"
	chmod 444 "$file" 2>/dev/null || true
}

raw=$(ensure_bucket "$db" "$raw_days")
five_minute=$(ensure_bucket "${db}_5m" "$five_minute_days")
hour=$(ensure_bucket "${db}_1h" "$hour_days")
ensure_dbrp autogen "$raw" --default
ensure_dbrp rp_5m "$five_minute"
ensure_dbrp rp_1h "$hour"

# The ingest writes readings, dead letters and roll-ups. It also reads: InfluxDB 2.x refuses continuous queries over
# the v1 API, so the ingest computes the roll-ups itself, reading the raw bucket's aggregates (SELECT … GROUP BY time)
# and the roll-up buckets' newest points (where to catch up from after a restart).
make_token "$token_dir/ingest/token" "mytho ingest: write readings and roll-ups, read them to compute roll-ups" \
	--write-bucket "$raw" --write-bucket "$five_minute" --write-bucket "$hour" \
	--read-bucket "$raw" --read-bucket "$five_minute" --read-bucket "$hour"
# The API reads: latest values, history (raw and roll-ups), dead letters. Least privilege over the dead-letter re-drive,
# which would need to write readings and delete letters: InfluxDB 2.x's v1 API has no DELETE anyway (README, InfluxDB).
make_token "$token_dir/api/token" "mytho api: read only" \
	--read-bucket "$raw" --read-bucket "$five_minute" --read-bucket "$hour"

echo "init.sh: buckets $db, ${db}_5m, ${db}_1h (retention ${raw_days}/${five_minute_days}/${hour_days} d, 0 = forever), DBRP mappings and service tokens ready" >&2
