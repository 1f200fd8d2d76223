//! Scenario replay: message-flow files run against the real engine with a
//! virtual clock and an in-process SMS provider. `sandesh replay PATH...`
//! prints one `PASS` or `FAIL` line per scenario and exits non-zero if any
//! fails; `tests/scenarios.rs` runs every file in `scenarios/` through
//! [`run_file`]. The file format is documented in `scenarios/README.md`.

mod engine;
mod expect;
mod fixture;
pub mod format;
mod pattern;
mod report;
mod runner;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

pub use format::{parse, FormatError, Scenario};
pub use report::{summary, Failure, ScenarioReport};

/// The log filter of `sandesh replay` unless `RUST_LOG` is set: only
/// engine errors, so the PASS and FAIL lines stay readable.
pub const LOG_FILTER: &str = "error";

/// The document that describes the scenario format, named in parse errors.
const FORMAT_HELP: &str = "the format is described in scenarios/README.md";

/// Reads, parses and runs one scenario file. A file that cannot be read
/// or parsed becomes a failed report that names the file and the line.
pub fn run_file(path: &Path) -> ScenarioReport {
    let started = Instant::now();
    match std::fs::read_to_string(path) {
        Ok(source) => {
            let name =
                path.file_stem().map_or_else(|| path.display().to_string(), |stem| stem.to_string_lossy().into_owned());
            let mut report = run_named(&name, &source, &path.display().to_string());
            report.path = Some(path.to_path_buf());
            report.elapsed = started.elapsed();
            report
        }
        Err(error) => ScenarioReport {
            name: path.display().to_string(),
            path: Some(path.to_path_buf()),
            steps: 0,
            elapsed: started.elapsed(),
            failures: vec![Failure::new(None, format!("cannot read the file: {error}; check the path"))],
        },
    }
}

/// Parses and runs a scenario given as text; `name` labels the report.
pub fn run_source(name: &str, source: &str) -> ScenarioReport {
    run_named(name, source, name)
}

/// Runs `source`; a parse error is reported under `file_label` so that the
/// reader can find the file.
fn run_named(name: &str, source: &str, file_label: &str) -> ScenarioReport {
    let started = Instant::now();
    let scenario = match parse(source) {
        Ok(scenario) => scenario,
        Err(error) => {
            return ScenarioReport {
                name: file_label.to_owned(),
                path: None,
                steps: 0,
                elapsed: started.elapsed(),
                failures: vec![Failure::new(None, format!("invalid scenario file ({FORMAT_HELP}): {error}"))],
            }
        }
    };
    let result = runner::run(&scenario);
    ScenarioReport {
        name: name.to_owned(),
        path: None,
        steps: result.steps,
        elapsed: started.elapsed(),
        failures: result.failures,
    }
}

/// Expands the paths given on the command line: a folder stands for the
/// `*.toml` files in it and its subfolders, sorted by path. A path that
/// does not exist, or a folder without scenarios, becomes a failed report.
pub fn scenario_files(paths: &[PathBuf]) -> Vec<Result<PathBuf, ScenarioReport>> {
    let mut entries = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files = Vec::new();
            if let Err(error) = collect_toml_files(path, &mut files) {
                entries.push(Err(problem(path, format!("cannot list the folder: {error}"))));
                continue;
            }
            if files.is_empty() {
                entries.push(Err(problem(path, "the folder has no *.toml scenario files".to_owned())));
            }
            files.sort();
            entries.extend(files.into_iter().map(Ok));
        } else if path.exists() {
            entries.push(Ok(path.clone()));
        } else {
            entries.push(Err(problem(path, "no such file or folder; check the path".to_owned())));
        }
    }
    entries
}

fn collect_toml_files(folder: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_toml_files(&path, files)?;
        } else if path.extension().is_some_and(|extension| extension == "toml") {
            files.push(path);
        }
    }
    Ok(())
}

fn problem(path: &Path, message: String) -> ScenarioReport {
    ScenarioReport {
        name: path.display().to_string(),
        path: Some(path.to_path_buf()),
        steps: 0,
        elapsed: std::time::Duration::ZERO,
        failures: vec![Failure::new(None, message)],
    }
}

/// Threads that run scenarios at the same time. A scenario spends most of
/// its time waiting for SQLite to sync its file, so more threads than
/// cores still help.
const WORKERS: usize = 4;

/// Runs every scenario under `paths` (see [`scenario_files`]) on a few
/// threads and calls `on_report` with each result in file order, as soon as
/// it and the results before it are known. Returns every report.
pub fn run_paths(paths: &[PathBuf], mut on_report: impl FnMut(&ScenarioReport)) -> Vec<ScenarioReport> {
    let entries = scenario_files(paths);
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<(usize, ScenarioReport)>();
    let mut reports = Vec::with_capacity(entries.len());

    std::thread::scope(|scope| {
        for _ in 0..WORKERS.min(entries.len()) {
            let sender = sender.clone();
            let (entries, next) = (&entries, &next);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(entry) = entries.get(index) else { break };
                let report = match entry {
                    Ok(path) => run_file(path),
                    Err(report) => report.clone(),
                };
                if sender.send((index, report)).is_err() {
                    break;
                }
            });
        }
        drop(sender);

        let mut finished = BTreeMap::new();
        for (index, report) in receiver {
            finished.insert(index, report);
            while let Some(report) = finished.remove(&reports.len()) {
                on_report(&report);
                reports.push(report);
            }
        }
    });
    reports
}

/// Runs every scenario under `paths`, printing each result and the
/// `N passed, M failed` line at the end. Exits with 0 only if every
/// scenario passed.
pub fn run_cli(paths: &[PathBuf]) -> ExitCode {
    let reports = run_paths(paths, |report| println!("{}", report.render()));
    println!("{}", summary(&reports));
    if !reports.is_empty() && reports.iter().all(ScenarioReport::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
