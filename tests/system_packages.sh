#!/usr/bin/env bash
# Debian packages the document, timeline and diagram tests need, installed only when missing, so a
# second run costs nothing. CI runs as root on a fresh machine; elsewhere we say what to install and the
# tests that need it fail with the same hint (they are never skipped).
#   fonts-noto-cjk           Chinese glyphs for the timeline PNG and the .docx rendered to PDF
#   graphviz                 `dot`, which draws the state-machine diagrams
#   poppler-utils            pdffonts / pdftotext / pdftoppm, to read back the PDF
#   libreoffice-writer-nogui .docx -> PDF; the largest (~50 s with the others on a fresh machine)
#   libreoffice-calc-nogui   the case register .xlsx -> PDF (tests/test_register.py)
#   chromium chromium-driver headless browser and its WebDriver for the desk (tests/test_desk_browser.py)
set -euo pipefail
wanted=(fonts-noto-cjk graphviz poppler-utils libreoffice-writer-nogui)
wanted+=(libreoffice-calc-nogui chromium chromium-driver)  # the desk and the register
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages (not root, not installing): apt-get install ${missing[*]}" >&2
  exit 0
fi
echo "== installing ${missing[*]}" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
