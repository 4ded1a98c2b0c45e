//! The contract test's outside tools, installed on first use and reused after: schemathesis and
//! openapi-spec-validator in a Python virtualenv, openapi-typescript and TypeScript in a
//! `node_modules`. Each lives under cargo's target dir (`target/tmp/contract-tools`) in a
//! directory named after a hash of its pinned versions (`tests/contract/requirements.txt`,
//! `package.json` and `package-lock.json`), so a change of versions installs afresh and an
//! unchanged one costs nothing. A file lock keeps two test processes from installing at once;
//! a `.complete` marker, written last, tells a finished install from a broken one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

const REQUIREMENTS: &str = include_str!("../../contract/requirements.txt");
const PACKAGE_JSON: &str = include_str!("../../contract/package.json");
const PACKAGE_LOCK: &str = include_str!("../../contract/package-lock.json");
/// The file that uses the generated client types (`tsc` checks both).
pub const CHECK_TS: &str = include_str!("../../contract/check.ts");

/// The installed tools.
pub struct Tools {
    /// The virtualenv's `bin`.
    pub python_bin: PathBuf,
    /// `node_modules/.bin`.
    pub node_bin: PathBuf,
}

impl Tools {
    /// Installs what is missing (minutes the first time, nothing after).
    pub fn ensure() -> Self {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("contract-tools");
        std::fs::create_dir_all(&root).unwrap();
        let python_dir = root.join(format!("python-{:016x}", fnv1a(&[REQUIREMENTS])));
        let node_dir = root.join(format!(
            "node-{:016x}",
            fnv1a(&[PACKAGE_JSON, PACKAGE_LOCK])
        ));
        installed(&python_dir, install_python);
        installed(&node_dir, install_node);
        Self {
            python_bin: python_dir.join("bin"),
            node_bin: node_dir.join("node_modules/.bin"),
        }
    }

    /// A command running one of the virtualenv's scripts (`schemathesis`, ...).
    pub fn python_tool(&self, tool: &str) -> tokio::process::Command {
        tokio::process::Command::new(self.python_bin.join(tool))
    }

    /// A command running one of `node_modules/.bin`.
    pub fn node(&self, tool: &str) -> tokio::process::Command {
        tokio::process::Command::new(self.node_bin.join(tool))
    }
}

/// Runs `install` into `dir` unless a finished install is there, holding a lock meanwhile.
fn installed(dir: &Path, install: fn(&Path)) {
    let marker = dir.join(".complete");
    if marker.exists() {
        return;
    }
    let lock = File::create(dir.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    if !marker.exists() {
        // What an interrupted install left.
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        install(dir);
        std::fs::write(&marker, b"").unwrap();
    }
    lock.unlock().unwrap();
}

fn install_python(dir: &Path) {
    let python = ["python3", "python"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok())
        .expect("the contract test needs python3 (3.9 or later) with venv and pip");
    run(Command::new(python).args(["-m", "venv"]).arg(dir));
    std::fs::write(dir.join("requirements.txt"), REQUIREMENTS).unwrap();
    run(Command::new(dir.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-input", "--requirement"])
        .arg(dir.join("requirements.txt")));
}

fn install_node(dir: &Path) {
    std::fs::write(dir.join("package.json"), PACKAGE_JSON).unwrap();
    std::fs::write(dir.join("package-lock.json"), PACKAGE_LOCK).unwrap();
    run(Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .args(["--loglevel", "error"])
        .current_dir(dir));
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// FNV-1a over `parts`: a name for a set of pinned versions that stays the same across Rust
/// releases (std's hasher promises no such thing).
fn fnv1a(parts: &[&str]) -> u64 {
    parts
        .iter()
        .flat_map(|part| part.bytes())
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}
