//! The bundled US ZIP-centroid table and the geocoder that answers from it.
//!
//! The table is the US Census Bureau's 2021 ZCTA Gazetteer (public domain), one row per
//! ZIP Code Tabulation Area; `data/README.md` says where it comes from and how to rebuild it.
//! ZCTAs approximate USPS ZIP codes: PO-box-only and single-building ZIPs have no ZCTA, so a
//! real ZIP may be missing from the table.

use super::{AddressQuery, GeocodeError, Geocoded, Geocoder, Precision};
use crate::point::Point;
use async_trait::async_trait;
use std::sync::LazyLock;

/// `zip,lat,lon`, header first, sorted by ZIP.
const TABLE: &str = include_str!("../../data/zcta_centroids.csv");

/// Parsed on first use rather than at start-up, so services that never geocode by ZIP pay
/// nothing for it.
static CENTROIDS: LazyLock<ZipCentroids> = LazyLock::new(|| ZipCentroids::parse(TABLE));

/// Centroids of US five-digit ZIP codes (ZCTAs), looked up by binary search.
#[derive(Debug)]
pub struct ZipCentroids {
    /// Sorted by ZIP, which as a number keeps the order of its five digits.
    entries: Vec<(u32, Point)>,
}

impl ZipCentroids {
    /// The table built into the binary.
    #[must_use]
    pub fn get() -> &'static Self {
        &CENTROIDS
    }

    /// The centroid of `zip`, given as `78701`, `78701-1234` or `787011234`; `None` when the
    /// ZIP is malformed or has no ZCTA.
    #[must_use]
    pub fn lookup(&self, zip: &str) -> Option<Point> {
        let key = zip5(zip)?;
        self.entries
            .binary_search_by_key(&key, |&(zip, _)| zip)
            .ok()
            .and_then(|i| self.entries.get(i))
            .map(|&(_, point)| point)
    }

    /// How many ZIPs the table holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Rows that do not parse are skipped rather than failing the process: the table is ours
    /// and a test checks every row of it parses, so a skip can only come from a bad edit.
    fn parse(table: &str) -> Self {
        let mut entries: Vec<(u32, Point)> = table.lines().skip(1).filter_map(parse_row).collect();
        // The file is sorted by its script; sorting again costs a millisecond and keeps the
        // binary search right if someone edits the file by hand.
        entries.sort_unstable_by_key(|&(zip, _)| zip);
        entries.dedup_by_key(|&mut (zip, _)| zip);
        Self { entries }
    }
}

fn parse_row(row: &str) -> Option<(u32, Point)> {
    let mut fields = row.split(',');
    let zip = fields.next().and_then(zip5)?;
    let lat = fields.next()?.parse().ok()?;
    let lon = fields.next()?.parse().ok()?;
    if fields.next().is_some() {
        return None;
    }
    Some((zip, Point::new(lat, lon).ok()?))
}

/// The five-digit ZIP as a number, from `78701`, `78701-1234` or `787011234`.
fn zip5(zip: &str) -> Option<u32> {
    let zip = zip.trim();
    let (five, rest) = zip.split_at_checked(5)?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let plus4 = rest.strip_prefix('-').unwrap_or(rest);
    let rest_ok = rest.is_empty() || digits(plus4, 4);
    if !digits(five, 5) || !rest_ok {
        return None;
    }
    five.parse().ok()
}

/// Geocodes an address to the centroid of its ZIP code, ignoring the street. Offline and
/// instant, so it is the default and the fallback when no provider key is configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZipGeocoder;

#[async_trait]
impl Geocoder for ZipGeocoder {
    fn name(&self) -> &'static str {
        "zip_centroid"
    }

    async fn geocode(&self, address: &AddressQuery<'_>) -> Result<Option<Geocoded>, GeocodeError> {
        Ok(ZipCentroids::get()
            .lookup(address.zip)
            .map(|point| Geocoded {
                point,
                precision: Precision::ZipCentroid,
                formatted_address: None,
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::distance_miles;

    fn near(zip: &str, lat: f64, lon: f64, miles: f64) {
        let point = ZipCentroids::get().lookup(zip).unwrap();
        let expected = Point::new(lat, lon).unwrap();
        let off = distance_miles(point, expected);
        assert!(off < miles, "{zip} is {off} miles from ({lat}, {lon})");
    }

    #[test]
    fn finds_well_known_zips() {
        near("78701", 30.27, -97.74, 1.0); // downtown Austin
        near("78664", 30.51, -97.65, 2.0); // Round Rock
        near("90210", 34.10, -118.41, 2.0); // Beverly Hills
        near("00601", 18.18, -66.75, 2.0); // Adjuntas, PR: leading zeros survive
    }

    #[test]
    fn zip_plus_four_uses_the_first_five_digits() {
        let table = ZipCentroids::get();
        let five = table.lookup("78701");
        assert!(five.is_some());
        assert_eq!(table.lookup("78701-1234"), five);
        assert_eq!(table.lookup("787011234"), five);
        assert_eq!(table.lookup(" 78701 "), five);
    }

    #[test]
    fn unknown_or_malformed_zips_are_none() {
        let table = ZipCentroids::get();
        assert_eq!(table.lookup("00000"), None);
        assert_eq!(table.lookup("99999"), None);
        for bad in [
            "",
            "7870",
            "7870a",
            "78701-",
            "78701-12",
            "78701x1234",
            "787012",
        ] {
            assert_eq!(table.lookup(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_row_of_the_bundled_table_parses() {
        let rows = TABLE.lines().skip(1).count();
        assert_eq!(ZipCentroids::get().len(), rows);
        assert!(rows > 30_000, "{rows}");
    }

    #[tokio::test]
    async fn geocodes_to_the_zip_centroid() {
        let address = AddressQuery {
            line1: "301 W 2nd St",
            line2: None,
            city: "Austin",
            state: "TX",
            zip: "78701-1234",
        };
        let found = ZipGeocoder.geocode(&address).await.unwrap().unwrap();
        assert_eq!(found.precision, Precision::ZipCentroid);
        assert_eq!(found.point, ZipCentroids::get().lookup("78701").unwrap());
        assert_eq!(found.formatted_address, None);

        let nowhere = AddressQuery {
            zip: "00000",
            ..address
        };
        assert_eq!(ZipGeocoder.geocode(&nowhere).await.unwrap(), None);
    }
}
