#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side lint of the guest test scripts: every check must be able to
# fail its case.  A case runs under `set -e`, and set -e ignores every
# command of an && list but the last:
#
#	[ "$tx" -ge 1 ] && [ "$rx" -ge 1 ]	# tx = 0 passes
#	assert_eq "$a" 1 && echo ok		# a != 1 passes
#
# so a test expression ([ ], [[ ]], test, grep -q, assert_*, expect_fail,
# wait_for, wait_stat, stat_ge, gt) that is followed by && is flagged when
# the list is not caught by a failing handler:
#
#	[ a ] && [ b ] || return 1		# fine
#	[ a ] && [ b ] || { echo why; return 1; }	# fine
#	if [ a ] && [ b ]; then ...; fi		# a condition: fine
#
# In a case function (t_*) the pattern is flagged wherever it is; in a
# helper only when it is not the helper's last command (the last command's
# status is the helper's, so `[ a ] && [ b ]` last in a predicate works).
# `# lint: ok` at the end of a line exempts that line.
#
# Usage: selftests/lint-asserts.sh [FILE...]
# Default files: selftests/tests/*.sh selftests/interop/*.sh
# selftests/demo.sh.  Prints FILE:LINE: MESSAGE per hit; exit status 1 if
# there is any, 0 if none, 2 on a usage error.
set -u -o pipefail

if [ $# -eq 0 ]; then
	# Relative names (selftests/tests/30-tunnel.sh:132) from the top.
	cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
	set -- selftests/tests/*.sh selftests/interop/*.sh selftests/demo.sh
fi
for f in "$@"; do
	[ -f "$f" ] || { echo "lint-asserts: no such file: $f" >&2; exit 2; }
done

awk '
# clean(s): the line with quoted text replaced by Q and the comment
# removed; quote state (sq, dq) carries over to the next line.
function clean(s,    out, i, c, n, prev) {
	out = ""
	n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (sq) {
			if (c == "\x27") { sq = 0; out = out "Q" }
			continue
		}
		if (dq) {
			if (c == "\\") { i++; continue }
			if (c == "\"") { dq = 0; out = out "Q" }
			continue
		}
		if (c == "\\") {
			if (i == n) { out = out "\\"; continue }
			i++
			out = out "E"
			continue
		}
		if (c == "\x27") { sq = 1; continue }
		if (c == "\"") { dq = 1; continue }
		prev = (i == 1) ? " " : substr(s, i - 1, 1)
		if (c == "#" && prev ~ /[ \t;(&|]/)
			break
		out = out c
	}
	return out
}

function depth(s,    t, o, c) {
	t = s
	o = gsub(/\(/, "(", t)
	c = gsub(/\)/, ")", t)
	return o - c
}

function is_test(cmd,    w) {
	sub(/^[ \t]*/, "", cmd)
	sub(/^(then|do|else|!|\{|\()[ \t]+/, "", cmd)
	sub(/^!?[ \t]*/, "", cmd)
	if (cmd ~ /^(\[|\[\[|test)([ \t]|$)/)
		return 1
	if (cmd ~ /^(assert_[A-Za-z0-9_]*|expect_fail|wait_for|wait_stat|stat_ge|gt)([ \t]|$)/)
		return 1
	if (cmd ~ /(^|[ \t])grep[ \t]/ && cmd ~ /[ \t]-[A-Za-z]*q/)
		return 1
	return 0
}

# handler(s): text after || that always fails the case.
function handler(s) {
	sub(/^[ \t]*/, "", s)
	if (s ~ /^(return|exit|skip|false)([ \t;]|$)/ && s !~ /^(return|exit)[ \t]+0/)
		return 1
	if (s ~ /^\{/ && s ~ /(^|[ \t;{])(return|exit|skip|false)([ \t;]|$)/)
		return 1
	return 0
}

# check(stmt): 1 if some test in stmt is followed by && not caught by a
# failing || handler.
function check(stmt,    s, n, parts, ops, i, j, bad) {
	s = stmt
	# [[ ... ]] may hold && and || of its own.
	while (match(s, /\[\[[^]]*\]\]/))
		s = substr(s, 1, RSTART - 1) "[ X ]" substr(s, RSTART + RLENGTH)
	# command substitutions, innermost first
	while (match(s, /\$\([^()]*\)/))
		s = substr(s, 1, RSTART - 1) "S" substr(s, RSTART + RLENGTH)
	while (match(s, /\([^()]*\)/))
		s = substr(s, 1, RSTART - 1) "S" substr(s, RSTART + RLENGTH)
	sub(/^[ \t]*/, "", s)
	if (s ~ /^(if|elif|while|until)([ \t]|$)/)
		return 0
	n = 0
	while (match(s, /&&|\|\|/)) {
		parts[++n] = substr(s, 1, RSTART - 1)
		ops[n] = substr(s, RSTART, RLENGTH)
		s = substr(s, RSTART + RLENGTH)
	}
	parts[++n] = s
	ops[n] = ""
	# `[ a ] && break`: a loop condition, not a check
	if (n > 1 && ops[n - 1] == "&&" && parts[n] ~ /^[ \t]*(break|continue)[ \t]*[0-9]*[ \t]*$/)
		return 0
	bad = 0
	for (i = 1; i < n; i++) {
		if (ops[i] != "&&" || !is_test(parts[i]))
			continue
		bad = 1
		for (j = i + 1; j < n; j++)
			if (ops[j] == "||" && handler(parts[j + 1]))
				bad = 0
		if (bad)
			return 1
	}
	return 0
}

# stmts(line): split a logical line into statements at ; and & (not && )
function stmts(line, arr,    n, s, i, c, nx, pv, br) {
	n = 0
	s = ""
	br = 0
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		nx = substr(line, i + 1, 1)
		pv = (i == 1) ? " " : substr(line, i - 1, 1)
		# a { ...; } group after && or || stays in its statement
		if (c == "{" && pv ~ /[ \t]/ && nx ~ /[ \t]/ && s ~ /(&&|\|\|)[ \t]*$/)
			br++
		if (c == "}" && br > 0 && pv ~ /[ \t;]/)
			br--
		if (br > 0) { s = s c; continue }
		if (c == ";" && nx == ";") { arr[++n] = s; s = ""; i++; continue }
		if (c == ";") { arr[++n] = s; s = ""; continue }
		if (c == "&" && nx == "&") { s = s "&&"; i++; continue }
		if (c == "&" && substr(line, i - 1, 1) != ">" && nx != ">") {
			arr[++n] = s; s = ""; continue
		}
		s = s c
	}
	arr[++n] = s
	return n
}

function emit_pending() {
	if (pend != "")
		print pend
	pend = ""
}

function report(line_no, fn_name, last_in_fn) {
	msg = FILENAME ":" line_no ": a test followed by && cannot fail the case under set -e; make each check its own command, an assert_*, or add || return 1"
	pend = msg
	pend_fn = fn_name
}

FNR == 1 { emit_pending(); sq = dq = 0; fn = ""; buf = ""; heredoc = ""; bufline = 0 }

{
	raw = $0
	if (heredoc != "") {
		t = raw
		sub(/^\t*/, "", t)
		if (t == heredoc)
			heredoc = ""
		next
	}
	in_quote = sq || dq
	c = clean(raw)
	if (!in_quote && match(c, /<<-?[ \t]*[A-Za-z_]+/)) {
		heredoc = substr(c, RSTART, RLENGTH)
		sub(/^<<-?[ \t]*/, "", heredoc)
		# a quoted delimiter was cleaned to Q: read it from the raw line
		if (match(raw, /<<-?[ \t]*["\x27]?[A-Za-z_]+/)) {
			heredoc = substr(raw, RSTART, RLENGTH)
			sub(/^<<-?[ \t]*["\x27]?/, "", heredoc)
		}
	}
	ok = raw ~ /#[ \t]*lint:[ \t]*ok/
	if (fn == "" && !in_quote &&
	    match(c, /^[ \t]*(function[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t]*\(\)/)) {
		emit_pending()
		fn = substr(c, RSTART, RLENGTH)
		sub(/^[ \t]*(function[ \t]+)?/, "", fn)
		sub(/[ \t]*\(\)$/, "", fn)
		rest = substr(c, RSTART + RLENGTH)
		# one-line function: name() { ...; }
		if (rest ~ /\}[ \t]*$/) {
			sub(/^[ \t]*\{/, "", rest)
			sub(/\}[ \t]*$/, "", rest)
			k = stmts(rest, st)
			while (k > 1 && st[k] ~ /^[ \t]*$/)
				k--
			for (i = 1; i <= k; i++)
				if (!ok && check(st[i])) {
					report(FNR, fn)
					if (i == k && fn !~ /^t_/)
						pend = ""
					emit_pending()
				}
			fn = ""
		}
		next
	}
	if (fn == "")
		next
	if (!in_quote && c ~ /^\}/) {
		# the function ends: a helper may end with a && list
		if (pend != "" && pend_fn !~ /^t_/)
			pend = ""
		emit_pending()
		fn = ""
		buf = ""
		next
	}
	if (buf == "")
		bufline = FNR
	buf = buf " " c
	if (ok)
		bufok = 1
	# a logical line continues after \, |, &&, ||, inside quotes or ( )
	if (sq || dq || buf ~ /(\\|\||&&)[ \t]*$/ || depth(buf) > 0) {
		sub(/\\[ \t]*$/, "", buf)
		next
	}
	if (buf ~ /^[ \t]*$/) { buf = ""; bufok = 0; next }
	emit_pending()
	k = stmts(buf, st)
	for (i = 1; i <= k; i++) {
		if (bufok || !check(st[i]))
			continue
		emit_pending()
		report(bufline, fn)
		# only the last statement of the line may be the function s last
		if (i < k)
			emit_pending()
	}
	buf = ""
	bufok = 0
}

END { emit_pending() }
' "$@" | sort -t: -k1,1 -k2,2n | awk '{ print } END { exit NR > 0 }'
