//! How rules files spell time zones and clock times.

/// An IANA time-zone name such as `America/Chicago`, refused on load when unknown.
pub mod time_zone {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(|_| {
            D::Error::custom(format!(
                "unknown IANA time zone {name:?} (expected a name such as \"America/Chicago\")"
            ))
        })
    }
}

/// A local clock time written `HH:MM` (24-hour, two digits each), as operators write hours.
pub mod hh_mm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(time: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&time.format("%H:%M"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(d)?;
        // chrono alone would also take "9:00"; the fixed shape keeps files uniform and
        // makes "22:00" vs "10:00 pm" mistakes impossible.
        let well_formed = text.len() == 5 && text.as_bytes().get(2) == Some(&b':');
        well_formed
            .then(|| NaiveTime::parse_from_str(&text, "%H:%M").ok())
            .flatten()
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "invalid time {text:?} (expected 24-hour \"HH:MM\", e.g. \"22:00\")"
                ))
            })
    }
}
