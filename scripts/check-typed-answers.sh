#!/usr/bin/env bash
# Fails when production code may walk a sibling's answer as untyped JSON (#29: "no production code
# walks a sibling's answer as serde_json::Value").
#
# What counts: every use, in crates/*/src, of `serde_json::Value` / `serde_json::Map`, of `Value`
# or `Map` imported from serde_json (`use serde_json::{json, Value}`, `... as Alias` too), of
# `json!` and of `serde_json::to_value`. A grep cannot tell reading an answer from building one,
# so every use must be listed in scripts/typed-answers-allowlist.txt with the reason it is not a
# sibling's answer read as Value; everything else is read into its contract's type
# (contracts::Client's `send::<T>()`).
# Not counted: `#[cfg(test)]` items (their whole block, found by rustfmt's indentation), whole-line
# comments and `use` lines (the uses they enable are counted).
#
# The allow-list: one entry a line, `PATH[:WHERE] -- REASON` (`#` starts a comment line).
#   PATH   a file, or a directory ending in `/` (every file under it);
#   WHERE  the item (fn, struct, enum, type, const, static, trait, mod) the use is in, or text on
#          the use's line; without it the whole file is allowed, so prefer naming the item;
#   REASON why it is not a sibling's answer read as Value — required.
# The check fails (exit 1) naming FILE:LINE for each use no entry allows, and naming the
# allow-list's line for each entry that no longer matches anything (stale) or gives no reason.
#
# Usage: scripts/check-typed-answers.sh [--list] [--root DIR]   (`just check-typed-answers`, CI)
#   --list       also print every allowed use and the entry allowing it
#   --root DIR   check DIR's crates/*/src against DIR/scripts/typed-answers-allowlist.txt only
# Self-test: without --root, once the tree passes, the script tests itself (under a second): it
#   copies crates/*/src and the allow-list into a temporary directory, checks the copy passes as
#   the tree did, then that it fails naming FILE:LINE for an injected
#   `serde_json::from_str::<serde_json::Value>` walk, that the same walk inside `#[cfg(test)]` or in
#   a comment is not counted, and that it fails naming the allow-list line of a stale entry.
set -euo pipefail

script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
root="$(dirname "$(dirname "$script")")"
list=0
run_self_test=1
while [ $# -gt 0 ]; do
  case "$1" in
    --list) list=1 ;;
    --root) root="$(cd "$2" && pwd)"; run_self_test=0; shift ;;
    *) echo "usage: $0 [--list] [--root DIR]" >&2; exit 2 ;;
  esac
  shift
done

# The self-test, on a copy of the tree that passed.
self_test() {
  local tmp target line entry
  tmp="$(mktemp -d)"
  cleanup+=("$tmp")
  (cd "$root" && find crates -path 'crates/*/src/*' -name '*.rs' -print0 | xargs -0 cp --parents -t "$tmp")
  mkdir -p "$tmp/scripts"
  cp "$root/scripts/typed-answers-allowlist.txt" "$tmp/scripts/"
  fail() { echo "self-test FAILED: $*" >&2; exit 1; }
  expect() { # expect STATUS TEXT: the check on the copy exits STATUS and prints TEXT
    local status=0 out
    out="$("$script" --root "$tmp" 2>&1)" || status=$?
    [ "$status" -eq "$1" ] || fail "expected exit $1, got $status: $out"
    grep -qF -- "$2" <<<"$out" || fail "expected '$2' in: $out"
  }
  expect 0 "typed answers:"
  target="crates/domain/src/lib.rs"
  [ -f "$tmp/$target" ] || fail "$target is missing"
  cat >>"$tmp/$target" <<'EOF'
// serde_json::Value in a comment is not a use.
#[cfg(test)]
mod injected_tests {
    fn walks(answer: &str) -> serde_json::Value {
        serde_json::from_str(answer).unwrap()
    }
}
EOF
  expect 0 "typed answers:"
  echo 'pub fn injected(answer: &str) -> Option<String> {' >>"$tmp/$target"
  line="$(($(wc -l <"$tmp/$target") + 1))"
  cat >>"$tmp/$target" <<'EOF'
    let answer = serde_json::from_str::<serde_json::Value>(answer).ok()?;
    answer["id"].as_str().map(str::to_owned)
}
EOF
  expect 1 "$target:$line"
  echo "$target:injected -- self-test" >>"$tmp/scripts/typed-answers-allowlist.txt"
  expect 0 "typed answers:"
  entry="$(($(wc -l <"$tmp/scripts/typed-answers-allowlist.txt") + 1))"
  echo "crates/domain/src/lib.rs:no_such_item -- self-test" >>"$tmp/scripts/typed-answers-allowlist.txt"
  expect 1 "typed-answers-allowlist.txt:$entry"
  echo "self-test passed: an injected walk is named by file:line, test code and comments are not counted, a stale entry is named"
}

allowlist="$root/scripts/typed-answers-allowlist.txt"
[ -f "$allowlist" ] || { echo "no allow-list at $allowlist" >&2; exit 1; }
cd "$root"
mapfile -d '' files < <(find crates -path 'crates/*/src/*' -name '*.rs' -print0 | sort -z)

# Each use: PATH <TAB> LINE <TAB> ITEM <TAB> TEXT.
scan() {
  awk '
    function indent(s) { match(s, /^[ \t]*/); return RLENGTH }
    function imports(statement,   names, n, i, part) {
      gsub(/[ \t\n{};]/, " ", statement)
      sub(/^.*use[ ]+serde_json::/, "", statement)
      n = split(statement, names, ",")
      for (i = 1; i <= n; i++) {
        part = names[i]
        gsub(/^ +| +$/, "", part)
        if (part ~ /^(Value|Map)( |$)/) {
          if (part ~ / as /) sub(/^.* as +/, "", part); else sub(/ .*$/, "", part)
          bare[part] = 1
        }
      }
    }
    function bare_use(s,   name, rest, at) {
      for (name in bare) {
        rest = s
        while (match(rest, name)) {
          at = RSTART
          if ((at == 1 || substr(rest, at - 1, 1) !~ /[A-Za-z0-9_:]/) &&
              substr(rest, at + length(name), 1) !~ /[A-Za-z0-9_]/) return 1
          rest = substr(rest, at + length(name))
        }
      }
      return 0
    }
    FNR == 1 { skipping = 0; pending = 0; in_use = 0; items = 0; item = "(top)"; split("", bare) }
    {
      line = $0
      if (skipping) { if (line ~ /^[ \t]*}[ \t]*$/ && indent(line) == skip_indent) skipping = 0; next }
      if (line ~ /^[ \t]*#\[cfg\(test\)\]/) {
        pending = 1; pending_indent = indent(line)
        sub(/#\[cfg\(test\)\][ \t]*/, "", line)
        if (line ~ /^[ \t]*$/) next
      }
      if (pending) {
        if (line ~ /^[ \t]*#\[/) next
        pending = 0
        if (line ~ /;[ \t]*$/) next
        if (line !~ /}[ \t]*$/) { skipping = 1; skip_indent = pending_indent }
        next
      }
      if (in_use) { statement = statement " " line; if (line ~ /;/) { in_use = 0; imports(statement) }; next }
      if (line ~ /^[ \t]*(pub(\([a-z:]+\))?[ \t]+)?use[ \t]+serde_json::/) {
        statement = line
        if (line ~ /;/) imports(statement); else in_use = 1
        next
      }
      if (line ~ /^[ \t]*(pub(\([a-z:]+\))?[ \t]+)?use[ \t]/) next
      if (line ~ /^[ \t]*\/\//) next
      # The item a line is in: the nearest declaration above it indented less (a line at a
      # declaration'"'"'s indentation ends it, unless it closes or continues its signature).
      if (line !~ /^[ \t]*$/) {
        depth = indent(line)
        declared = match(line, /^[ \t]*(pub(\([a-z:]+\))?[ \t]+)?((async|const|unsafe)[ \t]+)*(fn|struct|enum|type|trait|mod|const|static)[ \t]+[A-Za-z_][A-Za-z0-9_]*/)
        if (declared) { found = substr(line, RSTART, RLENGTH); sub(/^.*[ \t]/, "", found) }
        while (items > 0 && (item_indent[items] > depth || (item_indent[items] == depth && (declared || line !~ /^[ \t]*[)}\]]|^[ \t]*(->|where)/)))) items--
        if (declared) { items++; item_indent[items] = depth; item_name[items] = found }
        item = items > 0 ? item_name[items] : "(top)"
      }
      if (line ~ /serde_json::(Value|Map|to_value)/ || line ~ /(^|[^A-Za-z0-9_])json!/ || bare_use(line)) {
        text = line
        gsub(/^[ \t]+|[ \t]+$/, "", text)
        gsub(/\t/, " ", text)
        printf "%s\t%d\t%s\t%s\n", FILENAME, FNR, item, text
      }
    }
  ' "$@"
}

cleanup=()
trap 'rm -rf "${cleanup[@]}"' EXIT
uses="$(mktemp)"
cleanup+=("$uses")
[ "${#files[@]}" -eq 0 ] || scan "${files[@]}" >"$uses"

awk -F '\t' -v allowlist="$allowlist" -v listing="$list" -v shown="scripts/typed-answers-allowlist.txt" '
  BEGIN {
    while ((getline entry < allowlist) > 0) {
      number++
      if (entry ~ /^[ \t]*(#|$)/) continue
      at = index(entry, " -- ")
      spec = at ? substr(entry, 1, at - 1) : entry
      reason = at ? substr(entry, at + 4) : ""
      gsub(/^[ \t]+|[ \t]+$/, "", spec); gsub(/^[ \t]+|[ \t]+$/, "", reason)
      if (reason == "") { printf "%s:%d: no reason given (PATH[:WHERE] -- REASON): %s\n", shown, number, entry; bad++; continue }
      entries++
      line_of[entries] = number
      colon = index(spec, ":")
      path[entries] = colon ? substr(spec, 1, colon - 1) : spec
      where[entries] = colon ? substr(spec, colon + 1) : ""
      spec_of[entries] = spec
    }
  }
  {
    allowed = 0
    for (e = 1; e <= entries; e++) {
      p = path[e]
      if (!(p == $1 || (p ~ /\/$/ && index($1, p) == 1))) continue
      if (where[e] != "" && where[e] != $3 && index($4, where[e]) == 0) continue
      matched[e]++
      allowed = e
      break
    }
    total++
    if (!allowed) { printf "%s:%s: untyped JSON (in %s): %s\n", $1, $2, $3, $4; bad++; unlisted++ }
    else if (listing) printf "%s:%s: allowed by %s: %s\n", $1, $2, spec_of[allowed], $4
  }
  END {
    for (e = 1; e <= entries; e++)
      if (!matched[e]) { printf "%s:%d: stale entry, allows nothing now: %s\n", shown, line_of[e], spec_of[e]; bad++ }
    if (unlisted)
      print "Read a sibling'"'"'s answer into its contract'"'"'s type (contracts::Client send::<T>()); if this is no sibling'"'"'s answer, add `PATH:ITEM -- REASON` to " shown "."
    if (bad) { printf "typed answers: %d problem(s)\n", bad; exit 1 }
    printf "typed answers: %d untyped JSON use(s) in crates/*/src, each allowed by one of %d entries with its reason\n", total, entries
  }
' "$uses"
[ "$run_self_test" -eq 0 ] || self_test
