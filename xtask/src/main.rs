//! Project automation: `cargo xtask generate [VERSION]`, `cargo xtask check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use codegen::project::Project;
use codegen::{ApiFamily, ApiVersion, SpecFile};

#[derive(Parser)]
#[command(about = "Generate and check the Docker Engine API client crates")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate the client crate of every spec under specs/, or of one version (e.g. 1.47).
    Generate {
        version: Option<String>,
        /// Write the crates into this folder instead of generated-client/ (they still refer to
        /// the runtime as `../../runtime`); the benchmark times generation this way.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Fail if regenerating would change, add or remove any file under generated-client/.
    Check,
    /// What changed in the API between two versions (e.g. 1.41 1.47) or two spec files.
    Diff {
        old: String,
        new: String,
        /// text (colored on a terminal), markdown or json.
        #[arg(long, default_value = "text")]
        format: DiffFormat,
        /// Exit non-zero when a change of this level (or worse) is found.
        #[arg(long)]
        fail_on: Option<FailOn>,
        /// List description-only changes too (they are always counted).
        #[arg(long)]
        descriptions: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DiffFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FailOn {
    Breaking,
    PotentiallyBreaking,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate { version, out } => generate(version.as_deref(), out),
        Command::Check => check(),
        Command::Diff {
            old,
            new,
            format,
            fail_on,
            descriptions,
        } => diff(&old, &new, format, fail_on, descriptions),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The checkout to work on, found at run time: cargo sets `CARGO_MANIFEST_DIR` when it runs
/// xtask, and a binary run by hand looks from the current folder. The path baked in at compile
/// time would name another checkout whenever two share one target folder.
fn project() -> Result<Project, String> {
    let start = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?,
    };
    Project::find(&start)
}

/// The runtime's version, which generated crates depend on and are released under: the
/// workspace's, which xtask shares.
fn runtime_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn generate(version: Option<&str>, out: Option<PathBuf>) -> Result<(), String> {
    let started = Instant::now();
    let only = match version {
        Some(text) => Some(ApiVersion::parse(text).ok_or_else(|| format!("{text:?} is not a version like 1.41"))?),
        None => None,
    };
    let project = project()?;
    let (crates, reused) = project.generate_all(only, runtime_version())?;
    let out = out.unwrap_or_else(|| project.generated_dir());
    let (mut written, mut unchanged) = (0, 0);
    for generated in &crates {
        let folder = out.join(&generated.folder);
        // Files are rewritten only when their bytes change, so that cargo rebuilds only the
        // crates a change touched; files a crate no longer has are removed.
        for extra in generated.extra_files(&folder) {
            std::fs::remove_file(&extra).map_err(|e| format!("{}: {e}", extra.display()))?;
        }
        for (path, text) in &generated.files {
            let file = folder.join(path);
            if std::fs::read(&file).is_ok_and(|bytes| bytes == text.as_bytes()) {
                unchanged += 1;
                continue;
            }
            std::fs::create_dir_all(file.parent().expect("files live in a folder"))
                .map_err(|e| format!("{}: {e}", file.display()))?;
            std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
            written += 1;
        }
        println!(
            "{}: {} operations, {} types -> {}",
            generated.folder,
            generated.operation_count,
            generated.type_count,
            folder.display()
        );
    }
    println!(
        "generated {} crates ({written} files written, {unchanged} unchanged; {reused} laid out as last time) in {:.2?}",
        crates.len(),
        started.elapsed()
    );
    Ok(())
}

fn check() -> Result<(), String> {
    let project = project()?;
    let (crates, _) = project.generate_all(None, runtime_version())?;
    let problems = project.stale_files(&crates)?;
    if problems.is_empty() {
        println!("all {} generated crates are up to date", crates.len());
        Ok(())
    } else {
        Err(format!(
            "generated code is stale; run `cargo xtask generate`:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// A version under specs/ (`1.41`, or `registry/v2` for the Registry API) or the path of a spec
/// file, whose `info.version` says its family: `1.41` an Engine spec, `2` a Registry one.
fn resolve_spec(argument: &str) -> Result<SpecFile, String> {
    let path = Path::new(argument);
    if path.is_file() {
        let document = codegen::spec::read(path).map_err(|e| e.to_string())?;
        let stated = document
            .pointer("/info/version")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let (family, version) = match (ApiVersion::parse(stated), stated.parse::<u16>()) {
            (Some(version), _) => (ApiFamily::Engine, version),
            (None, Ok(major)) => (ApiFamily::Registry, ApiVersion { major, minor: 0 }),
            (None, Err(_)) => {
                return Err(format!(
                "{argument}: info.version is {stated:?}, neither an Engine version like 1.41 nor a Registry one like 2"
            ))
            }
        };
        return Ok(SpecFile {
            family,
            version,
            path: path.to_owned(),
        });
    }
    let (family, version) = match argument.strip_prefix("registry/v").map(str::parse::<u16>) {
        Some(Ok(major)) => (ApiFamily::Registry, ApiVersion { major, minor: 0 }),
        _ => (
            ApiFamily::Engine,
            ApiVersion::parse(argument).ok_or_else(|| {
                format!(
                    "{argument:?} is neither a spec file, a version like 1.41 nor a Registry version like registry/v2"
                )
            })?,
        ),
    };
    let path = project()?.specs_dir().join(family.spec_path(version));
    if !path.is_file() {
        return Err(format!("no spec for {argument}: expected {}", path.display()));
    }
    Ok(SpecFile { family, version, path })
}

fn diff(old: &str, new: &str, format: DiffFormat, fail_on: Option<FailOn>, descriptions: bool) -> Result<(), String> {
    use std::io::IsTerminal;
    let overrides = project()?.overrides()?;
    let (old_spec, new_spec) = (resolve_spec(old)?, resolve_spec(new)?);
    if old_spec.family != new_spec.family {
        return Err(format!(
            "{old} is a spec of the {:?} API and {new} of the {:?} API; a diff compares two versions of one API",
            old_spec.family, new_spec.family
        ));
    }
    let codegen::DiffOfSpecs {
        old,
        new,
        changes,
        documented_unknown,
    } = codegen::diff_specs(&old_spec, &new_spec, &overrides).map_err(|e| e.to_string())?;
    if let Some(unreadable) = documented_unknown {
        eprintln!(
            "note: the changes these specs document that the override file had already made effective \
             are not listed, as one spec cannot be read without an entry the other version lacks: {unreadable}"
        );
    }
    let report = match format {
        DiffFormat::Text => {
            codegen::diff::render_text(&old, &new, &changes, descriptions, std::io::stdout().is_terminal())
        }
        DiffFormat::Markdown => codegen::diff::render_markdown(&old, &new, &changes, descriptions),
        DiffFormat::Json => codegen::diff::render_json(&old, &new, &changes, descriptions),
    };
    println!("{report}");
    let worst = changes
        .iter()
        .filter(|c| c.effective_earlier_through.is_none())
        .map(|c| c.level)
        .min();
    let fails = match fail_on {
        None => false,
        Some(FailOn::Breaking) => worst == Some(codegen::diff::Level::Breaking),
        Some(FailOn::PotentiallyBreaking) => worst.is_some_and(|w| w <= codegen::diff::Level::PotentiallyBreaking),
    };
    if fails {
        return Err(codegen::diff::summary(&changes));
    }
    Ok(())
}
