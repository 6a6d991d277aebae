#!/bin/sh
# test_help.sh: the help texts and the documents agree.  `snm help` lists every command; for each,
# `snm help COMMAND` and `snm COMMAND --help` print the same text, its usage first, with an example;
# every long option a help text names is in the man page, and every long option the man page names
# is in a help text (pkg-config's aside); an unknown command is a usage error of one line.  The
# README's example pipeline is pipelines/quick.yaml, comments aside, and the README names
# `snm help`.
# Prints "test_help: N passed, N failed".
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin help
src=${SNM_TEST_SRCDIR:?}/..
snm=$top/snm
# lib.sh's check, showing the first 8 lines of the log rather than the last
check() { if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1"; [ -n "${3:-}" ] && sed 's/^/  | /' "$3" | head -n 8; fi; }

"$snm" help > "$tmp/all" 2> "$tmp/err"
check "snm help: exit 0, the usage of every command" $([ $? -eq 0 ] && head -n 1 "$tmp/all" | grep -q '^usage: snm '; echo $?) "$tmp/err"
"$snm" --help > "$tmp/all2" 2>&1
check "snm --help prints the same" $(cmp -s "$tmp/all" "$tmp/all2"; echo $?) "$tmp/all2"
cmds=$(sed -n 's/^\(usage:\|      \) snm \([a-z][a-z]*\).*/\2/p' "$tmp/all")
check "commands listed: $(echo $cmds)" $([ "$(echo "$cmds" | wc -w)" -ge 8 ]; echo $?)
: > "$tmp/texts"
for c in $cmds; do
	"$snm" help "$c" > "$tmp/h" 2>&1
	st=$?
	"$snm" "$c" --help > "$tmp/h2" 2>&1
	check "$c: snm help $c (exit 0) and snm $c --help print the same text" \
		$([ $st -eq 0 ] && cmp -s "$tmp/h" "$tmp/h2"; echo $?) "$tmp/h2"
	check "$c: its usage first, then what it does, and an example" \
		$(head -n 1 "$tmp/h" | grep -q "^usage: snm $c" && [ "$(wc -l < "$tmp/h")" -ge 5 ] \
		  && grep -q "^examples\?:$" "$tmp/h" && grep -q "^  snm $c" "$tmp/h"; echo $?) "$tmp/h"
	missing=""
	for o in $(grep -o -- '--[a-z][a-z-]*' "$tmp/h" | sort -u); do
		esc=$(printf '%s' "$o" | sed 's/-/\\-/g')
		grep -qF -- "$esc" "$src/doc/snm.1" || missing="$missing $o"
	done
	check "$c: every option of its help is in the man page${missing:+ (missing:$missing)}" $([ -z "$missing" ]; echo $?)
	cat "$tmp/h" >> "$tmp/texts"
done
missing=""
for o in $(grep -v 'pkg\\-config' "$src/doc/snm.1" | grep -o -- '\\-\\-[a-z][a-z\\-]*[a-z]' \
           | sed 's/\\-/-/g' | sort -u); do     # pkg-config's options aside
	[ "$o" = --version ] && continue
	grep -q -- "$o\\b" "$tmp/texts" || missing="$missing $o"
done
check "every option of the man page is in a help text${missing:+ (missing:$missing)}" $([ -z "$missing" ]; echo $?)
"$snm" help nosuch > "$tmp/out" 2> "$tmp/err"
check "snm help nosuch: exit 2, one line, nothing on stdout" \
	$([ $? -eq 2 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] \
	  && grep -q "^snm help: unknown command 'nosuch'" "$tmp/err"; echo $?) "$tmp/err"
"$snm" > "$tmp/out" 2> "$tmp/err"
check "snm alone: the usage on stderr, exit 2" $([ $? -eq 2 ] && cmp -s "$tmp/err" "$tmp/all"; echo $?) "$tmp/err"

# the README's example pipeline is quick.yaml
strip() { sed 's/[[:space:]]*#.*$//; s/[[:space:]]*$//' | grep -v '^$'; }
awk '/^`pipelines\/quick.yaml`, its comments aside:$/ { on = 1; next }
     on && /^```yaml$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$src/README.md" | strip > "$tmp/readme.yaml"
strip < "$src/pipelines/quick.yaml" > "$tmp/quick.yaml"
check "the README's example pipeline is pipelines/quick.yaml" \
	$([ -s "$tmp/readme.yaml" ] && diff "$tmp/readme.yaml" "$tmp/quick.yaml" > "$tmp/diff"; echo $?) "$tmp/diff"
check "the README names snm help" $(grep -q 'snm help' "$src/README.md"; echo $?)
test_end
