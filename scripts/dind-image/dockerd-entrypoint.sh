#!/bin/sh
# Entrypoint of dind-offline:latest. It honours the dind image contract (ARCHITECTURE.md), which is the behaviour of the
# official docker:dind dockerd-entrypoint.sh, so code tested against this image works against docker:dind:
# - DOCKER_TLS_CERTDIR non-empty (image default /certs): dockerd on tcp :2376 with --tlsverify and $D/server/*.pem;
#   empty: tcp :2375 without TLS (pass --tls=false, or dockerd sleeps 15 s on purpose).
# - $D/server/{ca,cert,key}.pem present and $D/ca/key.pem absent: the certs are only verified, never made.
# - otherwise $D/{ca,server,client} are made here (RSA 4096, 825 days); server and client certs are re-issued on
#   every start so that the SANs follow the container's current addresses.
# - no args, or a first arg starting with '-': the defaults plus those args; 'dockerd ...': run as given;
#   anything else: exec'd as is.
# Rootless is not supported by this image (the official one has a separate -rootless variant).
set -eu

die() {
	echo "dockerd-entrypoint: $*" >&2
	exit 1
}

# The official image uses 825 days: the longest validity Apple clients accept (FiloSottile/mkcert#174).
cert_days=825

tls_key() {
	[ -s "$1" ] || openssl genrsa -out "$1" 4096 2>/dev/null || die "cannot make RSA key $1"
}

# Subject alternative names: every address of the container (at this moment), its names, and $DOCKER_TLS_SAN.
tls_san() {
	{
		ip -oneline address | awk '{ sub(/\/.*$/, "", $4); print "IP:" $4 }'
		{
			cat /etc/hostname
			echo docker
			echo localhost
			hostname -f 2>/dev/null || :
			hostname -s 2>/dev/null || :
		} | sed '/^$/d; s/^/DNS:/'
		[ -z "${DOCKER_TLS_SAN:-}" ] || echo "$DOCKER_TLS_SAN"
	} | sort -u | paste -sd, -
}

# issue NAME CN EXTENSIONS...: a leaf key and cert in $dir/NAME signed by $dir/ca, plus a copy of the CA cert.
issue() {
	name=$1 cn=$2
	shift 2
	mkdir -p "$dir/$name"
	tls_key "$dir/$name/key.pem"
	openssl req -new -key "$dir/$name/key.pem" -out "$dir/$name/csr.pem" -subj "$cn" ||
		die "cannot make CSR $dir/$name/csr.pem"
	printf '[ x509_exts ]\n' >"$dir/$name/openssl.cnf"
	for ext in "$@"; do printf '%s\n' "$ext" >>"$dir/$name/openssl.cnf"; done
	openssl x509 -req -in "$dir/$name/csr.pem" -CA "$dir/ca/cert.pem" -CAkey "$dir/ca/key.pem" -CAcreateserial \
		-out "$dir/$name/cert.pem" -days "$cert_days" -extfile "$dir/$name/openssl.cnf" -extensions x509_exts ||
		die "cannot sign $dir/$name/cert.pem with $dir/ca"
	cp "$dir/ca/cert.pem" "$dir/$name/ca.pem"
	openssl verify -CAfile "$dir/$name/ca.pem" "$dir/$name/cert.pem" || die "$dir/$name/cert.pem does not verify"
}

tls_generate_certs() {
	dir=$1
	if [ -s "$dir/server/ca.pem" ] && [ -s "$dir/server/cert.pem" ] && [ -s "$dir/server/key.pem" ] &&
		[ ! -s "$dir/ca/key.pem" ]; then
		# Certs brought by the caller, who keeps the CA key: check them, touch nothing.
		openssl verify -CAfile "$dir/server/ca.pem" "$dir/server/cert.pem" ||
			die "the server cert $dir/server/cert.pem does not verify against $dir/server/ca.pem (certs brought in without $dir/ca/key.pem are used as they are, never remade)"
		return 0
	fi
	if [ -s "$dir/ca/key.pem" ] || [ ! -s "$dir/ca/cert.pem" ]; then
		mkdir -p "$dir/ca"
		tls_key "$dir/ca/key.pem"
		openssl req -new -x509 -key "$dir/ca/key.pem" -out "$dir/ca/cert.pem" -days "$cert_days" \
			-subj '/CN=docker:dind CA' -addext 'keyUsage=critical,digitalSignature,keyCertSign' ||
			die "cannot make the CA cert $dir/ca/cert.pem"
	fi
	[ -s "$dir/ca/key.pem" ] ||
		die "$dir/ca/cert.pem exists without $dir/ca/key.pem and $dir/server/{ca,cert,key}.pem are incomplete: cannot issue a server cert (bring all three server files, or remove $dir/ca)"
	issue server '/CN=docker:dind server' "subjectAltName = $(tls_san)" 'extendedKeyUsage = serverAuth'
	issue client '/CN=docker:dind client' 'extendedKeyUsage = clientAuth'
	# openssl writes keys 0600; clients of other users must be able to read this one.
	chmod 0644 "$dir/client/key.pem"
}

# What moby's hack/dind does so that a daemon can run containers inside this (privileged) container.
prepare_nesting() {
	export container=docker # AppArmor detection in dockerd/containerd
	if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
		mount -t securityfs none /sys/kernel/security ||
			echo "dockerd-entrypoint: warning: could not mount /sys/kernel/security; AppArmor detection and --privileged may break" >&2
	fi
	if ! mountpoint -q /tmp; then
		mount -t tmpfs none /tmp || die "cannot mount a tmpfs on /tmp (is the container --privileged?)"
	fi
	# cgroup v2: the root cgroup of the namespace may not hold processes once controllers are delegated, so move every
	# process into a child first. Retried: a 'docker exec' during start adds processes to the root (EBUSY).
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		mkdir -p /sys/fs/cgroup/init
		tries=0
		until {
			xargs -rn1 </sys/fs/cgroup/cgroup.procs 2>/dev/null >/sys/fs/cgroup/init/cgroup.procs || :
			sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers \
				2>/dev/null >/sys/fs/cgroup/cgroup.subtree_control
		}; do
			tries=$((tries + 1))
			[ "$tries" -lt 100 ] || die "cannot enable cgroup v2 controllers in /sys/fs/cgroup/cgroup.subtree_control (is the container --privileged?)"
			sleep 0.05
		done
	fi
	mount --make-rshared / || :
}

# Same choice as the official image: DOCKER_IPTABLES_LEGACY forces it; else legacy when legacy tables are in use
# here or nf_tables does not work. Legacy is selected by putting symlinks to iptables-legacy first on PATH.
choose_iptables() {
	legacy_dir=/usr/local/sbin/.iptables-legacy
	if [ -n "${DOCKER_IPTABLES_LEGACY+x}" ]; then
		use_legacy=$DOCKER_IPTABLES_LEGACY
	elif [ -n "$(cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null)" ]; then
		use_legacy=1
	elif ! iptables -nL >/dev/null 2>&1; then
		modprobe nf_tables >/dev/null 2>&1 || :
		if iptables -nL >/dev/null 2>&1; then use_legacy=; else use_legacy=1; fi
	else
		use_legacy=
	fi
	if [ -n "$use_legacy" ] && [ "$use_legacy" != 0 ]; then
		modprobe ip_tables >/dev/null 2>&1 || :
		modprobe ip6_tables >/dev/null 2>&1 || :
		[ -d "$legacy_dir" ] || die "legacy iptables requested but $legacy_dir is missing from the image"
		export PATH="$legacy_dir:$PATH"
	fi
	iptables --version >&2 || :
}

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
	socket=unix:///var/run/docker.sock
	case "${DOCKER_HOST:-}" in unix://*) socket=$DOCKER_HOST ;; esac
	if [ -n "${DOCKER_TLS_CERTDIR:-}" ]; then
		# Called as a plain command (not in a condition) so that set -e aborts on any failure instead of
		# falling back to plain TCP (docker-library/docker#397).
		tls_generate_certs "$DOCKER_TLS_CERTDIR"
		set -- dockerd --host="$socket" --host=tcp://0.0.0.0:2376 --tlsverify \
			--tlscacert "$DOCKER_TLS_CERTDIR/server/ca.pem" \
			--tlscert "$DOCKER_TLS_CERTDIR/server/cert.pem" \
			--tlskey "$DOCKER_TLS_CERTDIR/server/key.pem" "$@"
	else
		set -- dockerd --host="$socket" --host=tcp://0.0.0.0:2375 "$@"
	fi
fi

if [ "$1" = dockerd ]; then
	[ "$(id -u)" = 0 ] || die "this image runs dockerd as root only (uid $(id -u)); run it as root with --privileged"
	# An unclean stop leaves pid files behind, and dockerd/containerd refuse to start over them.
	find /run /var/run -iname 'docker*.pid' -delete 2>/dev/null || :
	prepare_nesting
	choose_iptables
	# tini as PID 1 reaps the containerd-shims that get re-parented to it (docker-library/docker#318).
	if command -v docker-init >/dev/null 2>&1; then
		set -- docker-init -- "$@"
	fi
fi

exec "$@"
