//! Checks of a finished document and route table (`ApiRoutes::lint`): what OpenAPI 3.1
//! validators and client generators refuse, and what actix would silently route elsewhere.

use std::collections::HashSet;

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, RefOr};

/// `{name}` segments of a path.
fn path_names(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn operations(openapi: &OpenApi) -> Vec<(String, &str, &Operation)> {
    let mut all = Vec::new();
    for (path, item) in &openapi.paths.paths {
        for (method, operation) in [
            ("get", &item.get),
            ("put", &item.put),
            ("post", &item.post),
            ("delete", &item.delete),
            ("patch", &item.patch),
            ("head", &item.head),
            ("options", &item.options),
            ("trace", &item.trace),
        ] {
            if let Some(operation) = operation {
                all.push((
                    format!("{} {path}", method.to_uppercase()),
                    path.as_str(),
                    operation,
                ));
            }
        }
    }
    all
}

pub(super) fn document(openapi: &OpenApi) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    for (name, path, operation) in operations(openapi) {
        let declared: Vec<&str> = operation
            .parameters
            .iter()
            .flatten()
            .filter(|p| p.parameter_in == ParameterIn::Path)
            .map(|p| p.name.as_str())
            .collect();
        let in_path = path_names(path);
        for missing in in_path.iter().filter(|n| !declared.contains(n)) {
            problems.push(format!(
                "{name}: path parameter `{missing}` is not declared in: path"
            ));
        }
        for extra in declared.iter().filter(|n| !in_path.contains(n)) {
            problems.push(format!(
                "{name}: `{extra}` is declared in: path but is not in the path"
            ));
        }
        match &operation.operation_id {
            Some(id) if !ids.insert(id.clone()) => {
                problems.push(format!("{name}: operationId `{id}` is used twice"));
            }
            Some(_) => {}
            None => problems.push(format!("{name}: no operationId")),
        }
        for (status, response) in &operation.responses.responses {
            let RefOr::T(response) = response else {
                continue;
            };
            if response.description.trim().is_empty() {
                problems.push(format!("{name}: answer {status} has no description"));
            }
            let error = status.parse::<u16>().is_ok_and(|s| s >= 400);
            if error
                && response
                    .content
                    .keys()
                    .any(|c| c != domain::problem::PROBLEM_JSON)
            {
                problems.push(format!(
                    "{name}: answer {status} is not only application/problem+json"
                ));
            }
        }
    }
    problems
}

/// Routes that an earlier route with a `{param}` in the same place would take first.
pub(super) fn shadowed(paths: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, earlier) in paths.iter().enumerate() {
        let earlier_segments: Vec<&str> = earlier.split('/').collect();
        for later in &paths[i + 1..] {
            let later_segments: Vec<&str> = later.split('/').collect();
            let takes = earlier_segments.len() == later_segments.len()
                && earlier_segments
                    .iter()
                    .zip(&later_segments)
                    .all(|(e, l)| e == l || (e.starts_with('{') && !l.starts_with('{')));
            if takes {
                problems.push(format!(
                    "{later} is registered after {earlier}, which takes its requests"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_static_route_after_a_parameter_route_is_reported() {
        assert_eq!(
            shadowed(&["/p/{id}", "/p/search", "/p/{id}/x"]),
            ["/p/search is registered after /p/{id}, which takes its requests"]
        );
        assert!(shadowed(&["/p/search", "/p/{id}"]).is_empty());
    }

    #[test]
    fn path_names_are_read_from_braces() {
        assert_eq!(path_names("/a/{id}/b/{user_id}"), ["id", "user_id"]);
    }
}
