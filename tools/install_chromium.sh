#!/usr/bin/env bash
# Installs headless Chromium for the browser tests (tests/test_browser.py) when none is on
# PATH: Debian's `chromium` package through apt-get, as root or with passwordless sudo.
# Where that is not possible it says why and exits 0: the browser tests then skip, saying so,
# except with CI=true, where they fail. Part of the README's test command (and so of .ci/run).
set -u
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$name" >/dev/null 2>&1; then
    exit 0
  fi
done
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo -n"
else
  echo "install_chromium: not root and no passwordless sudo: Chromium not installed" \
       "(the browser tests will skip; install Debian's chromium package to run them)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_chromium: no apt-get here: Chromium not installed (the browser tests will skip)"
  exit 0
fi
echo "install_chromium: installing Debian's chromium package for the browser tests ..."
if $sudo apt-get update -qq \
   && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
  echo "install_chromium: $(command -v chromium)"
else
  echo "install_chromium: apt-get could not install chromium (the browser tests will skip)"
fi
exit 0
