#!/usr/bin/env bash
# Tools the dashboard and metrics tests drive for real: Debian's chromium (headless browser, run by
# Playwright with executable_path, never a downloaded browser) and prometheus (promtool + a real server).
# Installs the missing ones with apt-get; without apt the tests that need them skip and say why.
set -u
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test tools: ${missing[*]} missing and no apt-get: the browser/Prometheus tests will be skipped" >&2
  exit 0
fi
echo "test tools: installing ${missing[*]} with apt-get"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
  || echo "test tools: could not install ${missing[*]}; those tests will be skipped" >&2
exit 0
