# SPDX-License-Identifier: GPL-2.0
#
# Host-side helpers shared by selftests/setup-host.sh and
# selftests/chroot.sh (sourced; the caller defines log()).

# archive_uri SUITE [optional]: the archive address this machine uses for
# SUITE (nothing if it has none and "optional" is given).
archive_uri()
{
	local uri
	uri=$(awk -v suite="$1" '
		BEGIN { RS = "" }
		{
			u = ""; s = 0
			n = split($0, l, "\n")
			for (i = 1; i <= n; i++) {
				if (l[i] ~ /^URIs:/) { split(l[i], f, /[ \t]+/); u = f[2] }
				if (l[i] ~ /^Suites:/) {
					m = split(l[i], f, /[ \t]+/)
					for (j = 2; j <= m; j++) if (f[j] == suite) s = 1
				}
			}
			if (s && u != "") { print u; exit }
		}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	if [ -z "$uri" ]; then
		uri=$(awk -v suite="$1" '{ sub(/\[[^]]*\]/, "") }
			$1 == "deb" && $3 == suite { print $2; exit }' \
			/etc/apt/sources.list 2>/dev/null || true)
	fi
	if [ -z "$uri" ]; then
		[ "${2:-}" = optional ] && return 0
		log "no Debian archive address for $1 found"
		exit 1
	fi
	echo "$uri"
}
