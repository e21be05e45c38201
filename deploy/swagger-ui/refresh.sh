#!/bin/sh
# Copies Swagger UI's files (the version pinned in package.json and package-lock.json) into the
# package, so /docs needs no CDN. Run after changing the pinned version, and commit the result.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target="$here/../../voice/portal/static/swagger-ui"
cd "$here"
# --ignore-scripts: a dependency of swagger-ui-dist (@scarf/scarf) reports installs over the
# network from its install script.
npm ci --ignore-scripts --no-audit --no-fund
mkdir -p "$target"
for name in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css \
    favicon-32x32.png LICENSE NOTICE; do
    cp "node_modules/swagger-ui-dist/$name" "$target/$name"
done
rm -rf node_modules
echo "copied swagger-ui-dist $(node -p 'require("./package-lock.json").packages["node_modules/swagger-ui-dist"].version') into $target"
