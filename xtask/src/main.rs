//! Project automation: `cargo xtask generate [VERSION]`, `cargo xtask check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use codegen::{ApiVersion, GeneratedCrate, Overrides, SpecFile};

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
        /// the runtime as `../runtime`); the benchmark times generation this way.
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
        Command::Generate { version, out } => generate(version.as_deref(), out.unwrap_or_else(generated_dir)),
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

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn generated_dir() -> PathBuf {
    project_root().join("generated-client")
}

/// The runtime's version, which generated crates depend on and are released under: the
/// workspace's, which xtask shares.
fn runtime_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn generate_all(only: Option<ApiVersion>) -> Result<Vec<GeneratedCrate>, String> {
    let root = project_root();
    let overrides = Overrides::load(&root.join("codegen/overrides.yaml")).map_err(|e| e.to_string())?;
    let specs = codegen::find_specs(&root.join("specs")).map_err(|e| e.to_string())?;
    let selected: Vec<&SpecFile> = specs.iter().filter(|s| only.is_none_or(|v| v == s.version)).collect();
    if selected.is_empty() {
        return Err(match only {
            Some(version) => format!("no spec for {version}: expected specs/v{version}/swagger.yaml"),
            None => "no specs under specs/".into(),
        });
    }
    // One worker per core, each taking the next spec: thirty threads at once on two cores ran
    // slower, their allocations contending.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(selected.len());
    let mut results: Vec<(usize, Result<GeneratedCrate, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(spec) = selected.get(index) else { break done };
                        let generated =
                            codegen::generate(spec, &overrides, runtime_version()).map_err(|e| e.to_string());
                        done.push((index, generated));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("generation does not panic"))
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, generated)| generated).collect()
}

fn generate(version: Option<&str>, out: PathBuf) -> Result<(), String> {
    let started = Instant::now();
    let only = match version {
        Some(text) => Some(ApiVersion::parse(text).ok_or_else(|| format!("{text:?} is not a version like 1.41"))?),
        None => None,
    };
    let crates = generate_all(only)?;
    let mut written = 0;
    for generated in &crates {
        let folder = out.join(&generated.folder);
        if folder.exists() {
            std::fs::remove_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        }
        for (path, text) in &generated.files {
            let file = folder.join(path);
            std::fs::create_dir_all(file.parent().expect("files live in a folder"))
                .map_err(|e| format!("{}: {e}", file.display()))?;
            std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
            written += 1;
        }
        println!(
            "v{}: {} operations, {} types -> {}",
            generated.version,
            generated.operation_count,
            generated.type_count,
            folder.display()
        );
    }
    println!(
        "generated {} crates ({written} files) in {:.2?}",
        crates.len(),
        started.elapsed()
    );
    Ok(())
}

fn check() -> Result<(), String> {
    let crates = generate_all(None)?;
    let mut problems = Vec::new();
    let mut expected_folders = std::collections::BTreeSet::new();
    for generated in &crates {
        let folder = generated_dir().join(&generated.folder);
        expected_folders.insert(generated.folder.clone());
        for (path, text) in &generated.files {
            let file = folder.join(path);
            match std::fs::read_to_string(&file) {
                Ok(existing) if existing == *text => {}
                Ok(_) => problems.push(format!("differs: {}", file.display())),
                Err(_) => problems.push(format!("missing: {}", file.display())),
            }
        }
        for extra in list_files(&folder) {
            let relative = extra
                .strip_prefix(&folder)
                .expect("listed under folder")
                .to_string_lossy()
                .replace('\\', "/");
            if !generated.files.contains_key(&relative) {
                problems.push(format!("extra: {}", extra.display()));
            }
        }
    }
    for entry in std::fs::read_dir(generated_dir()).map_err(|e| e.to_string())? {
        let name = entry
            .map_err(|e| e.to_string())?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.starts_with('v') && !expected_folders.contains(&name) {
            problems.push(format!("extra crate without a spec: generated-client/{name}"));
        }
    }
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

fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A version under specs/ (`1.41`) or the path of a spec file; its version comes from the file.
fn resolve_spec(argument: &str) -> Result<SpecFile, String> {
    let path = Path::new(argument);
    if path.is_file() {
        let document = codegen::spec::read(path).map_err(|e| e.to_string())?;
        let version = document
            .pointer("/info/version")
            .and_then(|v| v.as_str())
            .and_then(ApiVersion::parse)
            .ok_or_else(|| format!("{argument}: info.version is not a version like 1.41"))?;
        return Ok(SpecFile {
            version,
            path: path.to_owned(),
        });
    }
    let version = ApiVersion::parse(argument)
        .ok_or_else(|| format!("{argument:?} is neither a spec file nor a version like 1.41"))?;
    let path = project_root().join(format!("specs/v{version}/swagger.yaml"));
    if !path.is_file() {
        return Err(format!("no spec for {version}: expected {}", path.display()));
    }
    Ok(SpecFile { version, path })
}

fn diff(old: &str, new: &str, format: DiffFormat, fail_on: Option<FailOn>, descriptions: bool) -> Result<(), String> {
    use std::io::IsTerminal;
    let overrides = Overrides::load(&project_root().join("codegen/overrides.yaml"))
        .map_err(|e| e.to_string())?
        .importing_from(project_root().join("specs"));
    let (old, new) = (resolve_spec(old)?, resolve_spec(new)?);
    let old = codegen::load_api(&old, &overrides).map_err(|e| e.to_string())?;
    let new = codegen::load_api(&new, &overrides).map_err(|e| e.to_string())?;
    let changes = codegen::diff::diff(&old, &new);
    let report = match format {
        DiffFormat::Text => {
            codegen::diff::render_text(&old, &new, &changes, descriptions, std::io::stdout().is_terminal())
        }
        DiffFormat::Markdown => codegen::diff::render_markdown(&old, &new, &changes, descriptions),
        DiffFormat::Json => codegen::diff::render_json(&old, &new, &changes, descriptions),
    };
    println!("{report}");
    let worst = changes.iter().map(|c| c.level).min();
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
