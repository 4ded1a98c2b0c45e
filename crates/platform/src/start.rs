//! Why a service could not start: one line naming the step that failed, for the logs of a
//! pod in CrashLoopBackOff.

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// For `map_err` on a start-up step: `.map_err(|e| fail("database pool")(e.to_string()))`.
pub fn fail(what: &str) -> impl FnOnce(String) -> StartError + '_ {
    move |err| StartError(format!("{what}: {err}"))
}
