#!/bin/sh
# Makes the files docker-compose.yml hands its services as Docker secrets (issue #19): one file per password or token
# under ./secrets (gitignored), read by the services through NAME_FILE=/run/secrets/name, so no secret is in the
# environment that `docker inspect` shows. Files that exist are kept: run it again after adding a service, never to
# rotate (delete the one file to rotate, then `docker compose up -d`).
#
#   deploy/make-secrets.sh [--cluster] [DIR]      DIR: default ./secrets next to docker-compose.yml
#
#   --cluster   also writes redis_url (profile "scale": brokers, ingest workers and API nodes share the compose Redis);
#               without it redis_url stays empty and every service runs standalone.
#   MQTT_TLS_NAMES=mqtt.mytho.example.vn,10.20.0.5   names and addresses devices use for the broker (default localhost):
#               a private CA (mqtt-tls/ca.pem, for the devices: mosquitto_pub --cafile) and the broker's certificate
#               for 8883. Put a certificate the city already has in mqtt-tls/cert.pem and key.pem instead, and this
#               makes none.
set -eu

cluster=false
if [ "${1:-}" = "--cluster" ]; then
	cluster=true
	shift
fi
dir=${1:-"$(dirname "$0")/../secrets"}

# Only the owner may list or open the directory on the host; the files themselves are readable (444) because Compose
# bind-mounts them as they are and the platform's containers run as the unprivileged `node` user, not as their owner.
umask 077
mkdir -p "$dir" "$dir/mqtt-tls" "$dir/https"
chmod 700 "$dir"
# Mounted as a folder into the proxy, whose root has no capability to pass permissions: open inside, closed by $dir.
chmod 755 "$dir/https"

# put NAME COMMAND…: the file from the command's output, unless it exists.
put() {
	name=$1
	shift
	[ -e "$dir/$name" ] && return 0
	"$@" >"$dir/$name.tmp"
	chmod 444 "$dir/$name.tmp"
	mv "$dir/$name.tmp" "$dir/$name"
	echo "made $dir/$name" >&2
}
random() { openssl rand -base64 32 | tr -d '\n'; }
# URL-safe: it goes inside redis_url.
random_hex() { openssl rand -hex 32 | tr -d '\n'; }
empty() { :; }

put admin_password random
put ingest_mqtt_password random
put api_mqtt_password random
# Profile "observability": Grafana's admin.
put grafana_admin_password random
# Notifications: empty is off. To turn one on: rm the file, write the value into it (printf '%s' … > file), chmod 444.
put webhook_secret random
put telegram_bot_token empty
put zalo_oa_access_token empty
put zalo_oa_refresh_token empty
put zalo_oa_app_secret empty

# InfluxDB 2.x: its admin's password and all-access token (operators only), and the files deploy/influxdb/init.sh
# writes the ingest's and the API's own tokens into at InfluxDB's first setup (empty until then).
put influx_admin_password random
put influx_admin_token random
put ingest_influx_token empty
put api_influx_token empty

# Redis (profile "scale") accepts only this password (ACL file: nothing on its command line), and every service reads
# the same password inside redis_url.
put redis_password random_hex
put redis_acl sh -c "printf 'user default on >%s ~* &* +@all\n' \"\$(cat '$dir/redis_password')\""
if $cluster && [ ! -s "$dir/redis_url" ]; then
	rm -f "$dir/redis_url"
	put redis_url sh -c "printf 'redis://:%s@redis:6379' \"\$(cat '$dir/redis_password')\""
else
	put redis_url empty
fi

# MQTT over TLS (8883): a private CA and the broker's certificate signed by it, unless the city's own is in place.
tls="$dir/mqtt-tls"
if [ ! -e "$tls/cert.pem" ] || [ ! -e "$tls/key.pem" ]; then
	san=""
	for n in $(echo "${MQTT_TLS_NAMES:-localhost}" | tr ',' ' '); do
		case $n in
		*[!0-9.:a-fA-F]* | "") san="$san,DNS:$n" ;;
		*) san="$san,IP:$n" ;;
		esac
	done
	san=${san#,}
	first=$(echo "${MQTT_TLS_NAMES:-localhost}" | cut -d, -f1)
	if [ ! -e "$tls/ca.pem" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj "/CN=Mỹ Tho telemetry MQTT CA" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
			-keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
		chmod 400 "$tls/ca.key"
		chmod 444 "$tls/ca.pem"
		echo "made $tls/ca.pem (give it to the devices) and $tls/ca.key (keep it offline)" >&2
	fi
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$first" -keyout "$tls/key.pem" -out "$tls/cert.csr" 2>/dev/null
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$san" >"$tls/cert.ext"
	openssl x509 -req -in "$tls/cert.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 825 -extfile "$tls/cert.ext" -out "$tls/cert.pem" 2>/dev/null
	rm -f "$tls/cert.csr" "$tls/cert.ext" "$tls/ca.srl"
	chmod 444 "$tls/key.pem" "$tls/cert.pem"
	echo "made $tls/cert.pem for $san" >&2
fi
# Compose gives the API the CA devices trust (MQTT_PUBLIC_CA_FILE, offered on the admin page): with the city's own
# certificate, its issuer's.
if [ ! -e "$tls/ca.pem" ]; then
	echo "put the certificate of the CA that issued $tls/cert.pem in $tls/ca.pem (chmod 444): the API offers it to installers" >&2
fi
