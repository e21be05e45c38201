#!/usr/bin/env bash
# Refreshes the U.S. Web Design System assets that VOICE ships in its package
# (voice/web/static/uswds). The pages load them from our own origin, so the portal and the
# self-service pages work air-gapped and the Content-Security-Policy stays 'self'.
#
# Only what pages need is copied: the compiled CSS and JavaScript, the fonts and images the CSS
# refers to, and the few images the layout's federal banner refers to. Run this after changing
# the pinned version in package.json (then `npm install --package-lock-only`), and commit the
# result.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="$here/../../voice/web/static/uswds"
dist="$here/node_modules/@uswds/uswds/dist"

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

rm -rf "$target"
mkdir -p "$target/css" "$target/js"
cp "$dist/css/uswds.min.css" "$target/css/"
cp "$dist/js/uswds.min.js" "$target/js/"
cp "$here/node_modules/@uswds/uswds/LICENSE.md" "$target/"

# Every file the stylesheet refers to by a relative url(../fonts/...) or url(../img/...).
referenced="$(grep -o 'url([^)]*)' "$dist/css/uswds.min.css" \
  | sed -e 's/^url(//' -e 's/)$//' -e 's/["'"'"']//g' \
  | grep '^\.\./' | sed 's|^\.\./||' | sort -u)"
# The images voice/web/templates/base.html uses: the federal banner's and the favicon.
banner="img/us_flag_small.png img/icon-dot-gov.svg img/icon-https.svg img/favicons/favicon.ico"

for path in $referenced $banner; do
  mkdir -p "$target/$(dirname "$path")"
  cp "$dist/$path" "$target/$path"
done

version="$(node -p "require('$here/node_modules/@uswds/uswds/package.json').version")"
echo "$version" > "$target/VERSION"
echo "copied @uswds/uswds $version into $target"
