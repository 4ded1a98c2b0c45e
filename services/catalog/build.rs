//! Embeds the demo catalog's images (`seed/images/*.png`) so the binary can seed itself
//! anywhere, including a container without the source tree.

use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read when the script runs, not baked in when it is compiled: a shared target directory
    // may reuse a script compiled for another checkout of the same package.
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR")?).join("seed/images");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".png"))
        .collect();
    names.sort();
    let mut code = String::from(
        "/// The demo images by file name.\npub const SEED_IMAGES: &[(&str, &[u8])] = &[\n",
    );
    for name in names {
        let path = dir.join(&name);
        writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )?;
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR")?).join("seed_images.rs");
    std::fs::write(out, code)?;
    Ok(())
}
