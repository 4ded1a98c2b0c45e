//! The command line every service binary accepts: no argument serves (running migrations
//! first), `migrate` only runs the migrations and exits — for a Kubernetes init container or
//! a deploy step that migrates before rolling pods.

/// What the binary was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Run migrations, then serve until SIGTERM.
    Serve,
    /// Run migrations and exit.
    Migrate,
    /// Print usage and exit.
    Help,
}

/// An argument the binary does not understand.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown argument `{0}`; usage: <service> [serve|migrate|--help]")]
pub struct UsageError(pub String);

impl Command {
    /// Parses `std::env::args()` (the first item is the program name).
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Self, UsageError> {
        let mut args = args.into_iter().skip(1);
        let command = match args.next().as_deref() {
            None | Some("serve") => Self::Serve,
            Some("migrate") => Self::Migrate,
            Some("-h" | "--help" | "help") => Self::Help,
            Some(other) => return Err(UsageError(other.to_owned())),
        };
        match args.next() {
            Some(extra) => Err(UsageError(extra)),
            None => Ok(command),
        }
    }

    /// The usage text for `service`.
    pub fn usage(service: &str) -> String {
        format!(
            "usage: {service} [serve|migrate]\n  serve    run migrations, then serve (default)\n  \
             migrate  run migrations and exit\nConfiguration comes from environment variables; see .env.example."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, UsageError> {
        Command::parse(
            std::iter::once("svc")
                .chain(args.iter().copied())
                .map(String::from),
        )
    }

    #[test]
    fn commands() {
        assert_eq!(parse(&[]), Ok(Command::Serve));
        assert_eq!(parse(&["serve"]), Ok(Command::Serve));
        assert_eq!(parse(&["migrate"]), Ok(Command::Migrate));
        assert_eq!(parse(&["--help"]), Ok(Command::Help));
        assert_eq!(parse(&["migrat"]), Err(UsageError("migrat".into())));
        assert_eq!(parse(&["migrate", "now"]), Err(UsageError("now".into())));
        assert!(Command::usage("auth").starts_with("usage: auth"));
    }
}
