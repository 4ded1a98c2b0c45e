//! The set of jurisdictions a deployment applies: loading, validating, choosing, and finding
//! the one an address falls in.

use crate::jurisdiction::Jurisdiction;
use crate::validate::validate;
use geo::{Point, ServiceArea};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The rule files shipped with the crate, each one jurisdiction.
const EMBEDDED: [(&str, &str); 2] = [
    (
        "embedded data/jurisdictions/tx.json",
        include_str!("../data/jurisdictions/tx.json"),
    ),
    (
        "embedded data/jurisdictions/ca.json",
        include_str!("../data/jurisdictions/ca.json"),
    ),
];

/// Validated jurisdictions, in priority order (the first whose area holds an address wins).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Rules {
    jurisdictions: Vec<Jurisdiction>,
}

/// Why a rules file was refused, or a jurisdiction could not be chosen.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("could not read rules file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not JSON of the expected shape, or a field with a bad value (a negative or
    /// over-precise rate, an unknown time zone or product type, a misspelt field).
    #[error("rules in {origin} are not valid: {source}")]
    Parse {
        origin: String,
        source: serde_json::Error,
    },
    #[error("rules in {origin} hold no jurisdiction")]
    Empty { origin: String },
    #[error("jurisdiction {code} appears more than once")]
    DuplicateJurisdiction { code: String },
    #[error("no jurisdiction {code} in the rules (they have {})", .known.join(", "))]
    UnknownJurisdiction { code: String, known: Vec<String> },
    /// Well-formed but not usable, e.g. fee bands out of order.
    #[error("jurisdiction {jurisdiction}: {field}: {reason}")]
    Invalid {
        jurisdiction: String,
        field: String,
        reason: String,
    },
}

/// Where an address falls: the jurisdiction, the service area and how far the address is
/// from the area's centre (what the delivery fee is measured by).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Located<'a> {
    pub jurisdiction: &'a Jurisdiction,
    pub area: &'a ServiceArea,
    pub distance_miles: f64,
}

impl Rules {
    /// The shipped Texas and California rules.
    ///
    /// # Errors
    /// Only if a shipped file is broken, which this crate's tests rule out.
    pub fn embedded() -> Result<Self, RulesError> {
        let jurisdictions = EMBEDDED
            .iter()
            .map(|(origin, json)| parse(origin, json))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        Self::new("embedded rules", jurisdictions)
    }

    /// Rules from JSON: an array of jurisdictions, or a single jurisdiction object (the
    /// shape of the shipped files, so one can be copied and edited as it is).
    ///
    /// # Errors
    /// [`RulesError`] saying what is wrong and where.
    pub fn from_json(json: &str) -> Result<Self, RulesError> {
        Self::new("JSON", parse("JSON", json)?)
    }

    /// Rules from a file, replacing the embedded ones entirely (see [`Rules::from_json`]).
    ///
    /// # Errors
    /// [`RulesError::Read`] when the file cannot be read, otherwise as [`Rules::from_json`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, RulesError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.to_owned(),
            source,
        })?;
        let origin = path.display().to_string();
        Self::new(&origin, parse(&origin, &json)?)
    }

    fn new(origin: &str, jurisdictions: Vec<Jurisdiction>) -> Result<Self, RulesError> {
        if jurisdictions.is_empty() {
            return Err(RulesError::Empty {
                origin: origin.to_owned(),
            });
        }
        for (i, j) in jurisdictions.iter().enumerate() {
            validate(j)?;
            if jurisdictions[..i]
                .iter()
                .any(|earlier| earlier.code.eq_ignore_ascii_case(&j.code))
            {
                return Err(RulesError::DuplicateJurisdiction {
                    code: j.code.clone(),
                });
            }
        }
        Ok(Self { jurisdictions })
    }

    /// The jurisdictions named by `codes` (ignoring case), in that order: how a deployment
    /// picks its own, e.g. `["TX"]`.
    ///
    /// # Errors
    /// [`RulesError::UnknownJurisdiction`] for a code not in these rules, [`RulesError::Empty`]
    /// when `codes` is empty.
    pub fn select(&self, codes: &[&str]) -> Result<Self, RulesError> {
        let mut chosen: Vec<Jurisdiction> = Vec::with_capacity(codes.len());
        for code in codes {
            let code = code.trim();
            let j = self
                .get(code)
                .ok_or_else(|| RulesError::UnknownJurisdiction {
                    code: code.to_owned(),
                    known: self.jurisdictions.iter().map(|j| j.code.clone()).collect(),
                })?;
            if !chosen.iter().any(|c| c.code == j.code) {
                chosen.push(j.clone());
            }
        }
        Self::new("the selection", chosen)
    }

    #[must_use]
    pub fn jurisdictions(&self) -> &[Jurisdiction] {
        &self.jurisdictions
    }

    /// The jurisdiction with this code, ignoring case.
    #[must_use]
    pub fn get(&self, code: &str) -> Option<&Jurisdiction> {
        self.jurisdictions
            .iter()
            .find(|j| j.code.eq_ignore_ascii_case(code))
    }

    /// The first jurisdiction with a service area holding `point`; within it, of the areas
    /// holding the point, the one whose centre is nearest, so a customer in an area that
    /// overlaps a bigger one is charged from their own area's centre.
    #[must_use]
    pub fn locate(&self, point: Point) -> Option<Located<'_>> {
        self.jurisdictions.iter().find_map(|jurisdiction| {
            jurisdiction
                .service_areas
                .iter()
                .filter(|area| area.contains(point))
                .filter_map(|area| {
                    Some(Located {
                        jurisdiction,
                        area,
                        distance_miles: area.distance_from_center(point)?,
                    })
                })
                .min_by(|a, b| a.distance_miles.total_cmp(&b.distance_miles))
        })
    }
}

/// One jurisdiction object or an array of them; the first character decides, so a mistake
/// inside either gets serde's precise message rather than "matched no variant".
fn parse(origin: &str, json: &str) -> Result<Vec<Jurisdiction>, RulesError> {
    let error = |source| RulesError::Parse {
        origin: origin.to_owned(),
        source,
    };
    if json.trim_start().starts_with('{') {
        serde_json::from_str::<Jurisdiction>(json)
            .map(|j| vec![j])
            .map_err(error)
    } else {
        serde_json::from_str(json).map_err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(lat: f64, lon: f64) -> Point {
        Point::new(lat, lon).unwrap()
    }

    const TX_JSON: &str = include_str!("../data/jurisdictions/tx.json");

    /// The shipped Texas file with one piece of text replaced.
    fn tx_with(from: &str, to: &str) -> String {
        assert!(TX_JSON.contains(from), "{from}");
        TX_JSON.replacen(from, to, 1)
    }

    fn refusal(json: &str) -> String {
        Rules::from_json(json).unwrap_err().to_string()
    }

    #[test]
    fn both_embedded_files_load_and_validate() {
        let rules = Rules::embedded().unwrap();
        let codes: Vec<_> = rules
            .jurisdictions()
            .iter()
            .map(|j| j.code.as_str())
            .collect();
        assert_eq!(codes, ["TX", "CA"]);
        for j in rules.jurisdictions() {
            assert!(!j.sources.is_empty(), "{}", j.code);
        }
        let tx = rules.get("tx").unwrap();
        assert_eq!(tx.license.license_number, "TX-RET-2024-001");
        assert_eq!(tx.time_zone.name(), "America/Chicago");
        assert_eq!(tx.minimum_age, 21);
        let ca = rules.get("CA").unwrap();
        assert!(ca.service_areas.is_empty());
        assert_eq!(ca.vehicle_cap_cents, Some(500_000));
    }

    #[test]
    fn rules_survive_a_round_trip_through_json() {
        let rules = Rules::embedded().unwrap();
        let json = serde_json::to_string_pretty(&rules).unwrap();
        assert_eq!(Rules::from_json(&json).unwrap(), rules);
    }

    #[test]
    fn a_file_replaces_the_embedded_rules() {
        let path =
            std::env::temp_dir().join(format!("compliance-rules-{}.json", std::process::id()));
        std::fs::write(
            &path,
            format!("[{}]", tx_with("\"Texas\"", "\"Texas (test)\"")),
        )
        .unwrap();
        let rules = Rules::from_file(&path);
        std::fs::remove_file(&path).unwrap();
        let rules = rules.unwrap();
        assert_eq!(rules.jurisdictions().len(), 1);
        assert_eq!(rules.jurisdictions()[0].name, "Texas (test)");

        let missing = Rules::from_file("/nonexistent/rules.json").unwrap_err();
        assert!(matches!(missing, RulesError::Read { .. }), "{missing}");
    }

    #[test]
    fn a_deployment_selects_its_jurisdictions() {
        let rules = Rules::embedded().unwrap();
        let tx = rules.select(&["tx"]).unwrap();
        assert_eq!(tx.jurisdictions().len(), 1);
        assert_eq!(tx.jurisdictions()[0].code, "TX");
        let both = rules.select(&["CA", "TX", "ca"]).unwrap();
        let codes: Vec<_> = both
            .jurisdictions()
            .iter()
            .map(|j| j.code.as_str())
            .collect();
        assert_eq!(codes, ["CA", "TX"]);
        assert_eq!(
            rules.select(&["NY"]).unwrap_err().to_string(),
            "no jurisdiction NY in the rules (they have TX, CA)"
        );
        assert!(matches!(rules.select(&[]), Err(RulesError::Empty { .. })));
    }

    #[test]
    fn addresses_are_located_in_the_nearest_area_of_their_jurisdiction() {
        let rules = Rules::embedded().unwrap();
        let downtown = rules.locate(point(30.2672, -97.7431)).unwrap();
        assert_eq!(
            (
                downtown.jurisdiction.code.as_str(),
                downtown.area.id.as_str()
            ),
            ("TX", "austin")
        );
        assert!(downtown.distance_miles < 1e-9);
        // Round Rock is inside Austin's 25 miles too (about 17 from its centre), but is
        // charged from its own centre.
        let round_rock = rules.locate(point(30.5082, -97.6789)).unwrap();
        assert_eq!(round_rock.area.id, "round_rock");
        assert!(round_rock.distance_miles < 1e-9);
        // Georgetown, ~26 miles north of Austin and ~9 from Round Rock: only Round Rock's area.
        let georgetown = rules.locate(point(30.6333, -97.6780)).unwrap();
        assert_eq!(georgetown.area.id, "round_rock");
        assert!(
            (8.0..10.0).contains(&georgetown.distance_miles),
            "{}",
            georgetown.distance_miles
        );
        // San Antonio and Los Angeles: no area (California ships none).
        assert!(rules.locate(point(29.4241, -98.4936)).is_none());
        assert!(rules.locate(point(34.0522, -118.2437)).is_none());
    }

    #[test]
    fn bad_files_are_refused_with_a_clear_error() {
        let cases = [
            (
                tx_with("\"6.25\"", "\"-6.25\""),
                "rates must not be negative",
            ),
            (tx_with("\"6.25\"", "6.25"), "expected a string"),
            (
                tx_with("\"America/Chicago\"", "\"America/Chicgo\""),
                "unknown IANA time zone \"America/Chicgo\"",
            ),
            (
                tx_with("\"upToMiles\": 20", "\"upToMiles\": 5"),
                "jurisdiction TX: deliveryFee.bands[1].upToMiles: must be greater than the band before (10), got 5",
            ),
            (
                tx_with("\"maxMg\": 28500", "\"maxMg\": 0"),
                "jurisdiction TX: purchaseLimits[flower].maxMg: must be positive, got 0",
            ),
            (
                tx_with("\"minimumAge\": 21", "\"minimumAge\": 0"),
                "jurisdiction TX: minimumAge: must be positive",
            ),
            (
                tx_with("\"minimumOrderCents\"", "\"minimumOrderCent\""),
                "unknown field `minimumOrderCent`",
            ),
            (
                tx_with("\"pre_roll\"", "\"preroll\""),
                "unknown variant `preroll`",
            ),
            (
                tx_with("\"radiusMiles\": 25", "\"radiusMiles\": -25"),
                "jurisdiction TX: serviceAreas[austin]: the radius must be positive, got -25",
            ),
            ("[]".to_owned(), "rules in JSON hold no jurisdiction"),
            (
                format!("[{TX_JSON}, {TX_JSON}]"),
                "jurisdiction TX appears more than once",
            ),
            ("{\"code\": ".to_owned(), "rules in JSON are not valid: EOF"),
        ];
        for (json, expected) in cases {
            let message = refusal(&json);
            assert!(
                message.contains(expected),
                "expected {expected:?} in {message:?}"
            );
        }
    }
}
