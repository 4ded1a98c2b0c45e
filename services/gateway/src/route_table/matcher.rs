//! How a route names the paths it takes.

/// A path rule. Matching is on the path only (no query), byte for byte, against the request's
/// path normalised as the services read it (`request_path`): so a rule is written in normal
/// form itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    Exact(String),
    /// The path itself or anything below it, by whole segments.
    Prefix(String),
    /// Literal segments and `{name}` placeholders, each matching one non-empty segment.
    Pattern(Vec<Segment>, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Any,
}

impl Matcher {
    pub fn exact(path: &str) -> Result<Self, String> {
        check_path(path)?;
        Ok(Self::Exact(path.to_owned()))
    }

    pub fn prefix(prefix: &str) -> Result<Self, String> {
        check_path(prefix)?;
        let trimmed = prefix.trim_end_matches('/');
        Ok(Self::Prefix(trimmed.to_owned()))
    }

    pub fn pattern(pattern: &str) -> Result<Self, String> {
        check_path(pattern)?;
        let segments = pattern
            .split('/')
            .skip(1)
            .map(|segment| {
                if segment.starts_with('{') && segment.ends_with('}') && segment.len() > 2 {
                    Ok(Segment::Any)
                } else if segment.contains(['{', '}']) {
                    Err(format!(
                        "`{segment}`: a placeholder is a whole segment like `{{id}}`"
                    ))
                } else {
                    Ok(Segment::Literal(segment.to_owned()))
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self::Pattern(segments, pattern.to_owned()))
    }

    pub fn matches(&self, path: &str) -> bool {
        match self {
            Self::Exact(exact) => path == exact,
            // `""` is the prefix `/`: everything.
            Self::Prefix(prefix) => {
                prefix.is_empty()
                    || path
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }
            Self::Pattern(segments, _) => {
                let mut parts = path.split('/').skip(1);
                segments
                    .iter()
                    .all(|segment| match (segment, parts.next()) {
                        (Segment::Literal(literal), Some(part)) => literal == part,
                        (Segment::Any, Some(part)) => !part.is_empty(),
                        (_, None) => false,
                    })
                    && parts.next().is_none()
            }
        }
    }

    /// The rule as the file wrote it, for labels.
    pub fn as_written(&self) -> String {
        match self {
            Self::Exact(path) => path.clone(),
            Self::Prefix(prefix) => format!("{prefix}/*"),
            Self::Pattern(_, pattern) => pattern.clone(),
        }
    }
}

fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("`{path}` must start with `/`"));
    }
    if path.contains(['?', '#', ' ']) {
        return Err(format!(
            "`{path}` must be a bare path (no query, fragment or space)"
        ));
    }
    // Requests are matched once normalised: a rule that is not could never match.
    if path.contains(['%', '\\'])
        || path.contains("//")
        || path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
    {
        return Err(format!(
            "`{path}` must be in normal form (no escapes, backslashes, `//`, `.` or `..` segments)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments() {
        let matcher = Matcher::prefix("/api/orders").unwrap();
        assert!(matcher.matches("/api/orders"));
        assert!(matcher.matches("/api/orders/"));
        assert!(matcher.matches("/api/orders/42/cancel"));
        assert!(!matcher.matches("/api/ordersx"));
        assert!(!matcher.matches("/api"));
        assert_eq!(
            Matcher::prefix("/api/auth/").unwrap(),
            Matcher::prefix("/api/auth").unwrap()
        );
        assert!(Matcher::prefix("/").unwrap().matches("/anything"));
    }

    #[test]
    fn patterns_match_one_segment_per_placeholder() {
        let matcher = Matcher::pattern("/api/orders/{id}/tracking").unwrap();
        assert!(matcher.matches("/api/orders/7f0c/tracking"));
        assert!(!matcher.matches("/api/orders//tracking"));
        assert!(!matcher.matches("/api/orders/7f0c/tracking/more"));
        assert!(!matcher.matches("/api/orders/7f0c"));
        assert!(Matcher::pattern("/api/{x").is_err());
    }

    #[test]
    fn exact_paths_match_only_themselves() {
        let matcher = Matcher::exact("/api/orders").unwrap();
        assert!(matcher.matches("/api/orders"));
        assert!(!matcher.matches("/api/orders/"));
        assert!(Matcher::exact("api/orders").is_err());
        assert!(Matcher::exact("/api?x=1").is_err());
    }

    #[test]
    fn rules_must_be_in_the_normal_form_requests_are_matched_in() {
        for rule in [
            "/api/%6cogin",
            "/api//login",
            "/api/./login",
            "/api/x/../login",
            "/a\\b",
        ] {
            assert!(Matcher::exact(rule).is_err(), "{rule}");
            assert!(Matcher::prefix(rule).is_err(), "{rule}");
        }
        assert!(Matcher::exact("/.well-known/jwks.json").is_ok());
    }
}
