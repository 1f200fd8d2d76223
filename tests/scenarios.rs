//! Runs every scenario in `scenarios/` against the real engine, and checks
//! that the replay runner reports failures: wrong expectations, unchecked
//! SMS, invalid files and invalid fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;

use sandesh::replay::{run_file, run_paths, run_source, ScenarioReport};

fn repository_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn every_scenario_passes() {
    let reports = run_paths(&[repository_path("scenarios")], |_| {});
    let failing: Vec<String> = reports.iter().filter(|report| !report.passed()).map(ScenarioReport::render).collect();
    assert!(failing.is_empty(), "{} of {} scenarios failed:\n\n{}", failing.len(), reports.len(), failing.join("\n\n"));
    assert!(reports.len() >= 15, "only {} scenarios in scenarios/", reports.len());
}

#[test]
fn wrong_expectation_fails_with_diff() {
    let report = run_file(&repository_path("tests/fixtures/wrong-expectation.toml"));
    let text = report.render();

    assert!(!report.passed(), "a wrong expectation passed:\n{text}");
    assert_eq!(report.failures.len(), 2, "{text}");
    assert_eq!(report.failures[0].location.as_deref(), Some("step 1 (line 11)"), "{text}");
    assert!(text.starts_with("FAIL wrong-expectation: step 1 (line 11): expect_sms:"), "{text}");
    assert!(
        text.contains("    -{ to_agent = 12, text = \"Booked: Seema (ANC) at Wagle HP on 07-12-2026 14:00.\" }"),
        "{text}"
    );
    assert!(
        text.contains("    +{ to_agent = 12, text = \"Booked: Seema (ANC) at Wagle HP on 07-12-2026 10:00.\" }"),
        "{text}"
    );
    assert!(text.contains("expect_tasks: the tasks differ"), "{text}");
}

const HEADER: &str = r#"
description = "inline scenario"
start = "2026-12-07 08:00"

[fixture]
base = "demo"
"#;

fn inline(steps: &str) -> ScenarioReport {
    run_source("inline", &format!("{HEADER}\n{steps}"))
}

#[test]
fn wrong_flag_reason_fails() {
    let report = inline(
        r#"
[[step]]
inbound = "12 ANX Seema 9876543210"
from_agent = 12
expect_sms = [{ to_agent = 12, text = "Case code ANX is unknown. Did you mean ANC? Send again with the right code." }]
expect_flags = [{ reason = "unknown_facility" }]
"#,
    );
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(text.contains("-{ reason = \"unknown_facility\" }"), "{text}");
    assert!(text.contains("+{ reason = \"unknown_case_type\" }"), "{text}");
}

#[test]
fn unchecked_sms_fail_at_end() {
    let report = inline(
        r#"
[[step]]
inbound = "12 ANC Seema 9876543210"
from_agent = 12
expect_tasks = [{ beneficiary = "Seema", status = "booked" }]
"#,
    );
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert_eq!(report.failures[0].location.as_deref(), Some("end of scenario"), "{text}");
    assert!(text.contains("2 SMS sent after the last expect_sms were not checked"), "{text}");
    assert!(text.contains("(expected: nothing)"), "{text}");
}

#[test]
fn expected_sms_that_never_came_fail() {
    let report = inline(
        r#"
[[step]]
advance = "5m"
expect_sms = [{ to = "+919876543210", text = "Seema visit" }]
"#,
    );
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(text.contains("(actual: nothing)"), "{text}");
}

#[test]
fn invalid_time_names_line_and_fix() {
    let report = run_source("broken", "description = \"x\"\nstart = \"7-12-2026 08:00\"\n");
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(text.starts_with("FAIL broken: invalid scenario file"), "{text}");
    assert!(text.contains("line 2"), "{text}");
    assert!(text.contains("YYYY-MM-DD HH:MM"), "{text}");
}

#[test]
fn unknown_step_key_names_line() {
    let report = inline("\n[[step]]\nexpect_sm = []\n");
    let text = report.render();
    assert!(text.contains("line 10, column 1"), "{text}");
    assert!(text.contains("unknown field `expect_sm`"), "{text}");
}

#[test]
fn unknown_fixture_facility_fails() {
    let source = HEADER.replace(
        "base = \"demo\"",
        "base = \"demo\"\nslots = [{ facility = \"XYZ\", case = \"ANC\", start = \"2026-12-07 10:00\", capacity = 1 }]",
    );
    let report = run_source("fixture", &format!("{source}\n[[step]]\nexpect_sms = []\n"));
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert_eq!(report.failures[0].location.as_deref(), Some("fixture (line 7)"), "{text}");
    assert!(text.contains("facility code \"XYZ\" is unknown: use one of DHR, KSN, WGL"), "{text}");
}

#[test]
fn clock_moving_back_fails() {
    let report = inline("\n[[step]]\nat = \"07:00\"\n");
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(text.contains("the clock only moves forward"), "{text}");
}

#[test]
fn uncaptured_placeholder_fails() {
    let report = inline("\n[[step]]\ninbound = \"-1 SC 9876543210 Seema {id}\"\nfrom_agent = 12\n");
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(text.contains("{id} has no value yet"), "{text}");
}

#[test]
fn config_outside_replay_sections_fails() {
    let report = inline("\n[config]\ndatabase.url = \"other.db\"\n\n[[step]]\nexpect_sms = []\n");
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(text.contains("config section \"database\" cannot be set"), "{text}");
}

#[test]
fn cli_exit_code_follows_results() {
    let binary = env!("CARGO_BIN_EXE_sandesh");

    let failing = Command::new(binary)
        .arg("replay")
        .arg(repository_path("tests/fixtures/wrong-expectation.toml"))
        .output()
        .expect("run sandesh replay");
    let stdout = String::from_utf8_lossy(&failing.stdout);
    assert_eq!(failing.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("FAIL wrong-expectation: step 1"), "{stdout}");
    assert!(stdout.trim_end().ends_with("0 passed, 1 failed"), "{stdout}");

    let passing = Command::new(binary)
        .arg("replay")
        .arg(repository_path("scenarios/booking-basic.toml"))
        .output()
        .expect("run sandesh replay");
    let stdout = String::from_utf8_lossy(&passing.stdout);
    assert_eq!(passing.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("PASS booking-basic (1 step, "), "{stdout}");
    assert!(stdout.trim_end().ends_with("1 passed, 0 failed"), "{stdout}");

    let missing = Command::new(binary).args(["replay", "no/such/folder"]).output().expect("run sandesh replay");
    let stdout = String::from_utf8_lossy(&missing.stdout);
    assert_eq!(missing.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL no/such/folder: no such file or folder; check the path"), "{stdout}");
}

#[test]
fn restart_keeps_tasks_and_rebuilds_actors() {
    let report = inline(
        r#"
[[step]]
inbound = "12 ANC Seema 9876543210"
from_agent = 12
expect_sms = [
  { to = "+919876543210", text = "Seema visit Wagle HP, Road 16, Wagle Estate, Thane on 07-12-2026 at 10:00 for ANC" },
  { to_agent = 12, text = "Booked: Seema (ANC) at Wagle HP on 07-12-2026 10:00." },
]

[[step]]
restart = true
expect_sms = []
expect_tasks = [{ beneficiary = "Seema", appointment = "2026-12-07 10:00", status = "booked" }]

[[step]]
note = "the restarted engine books"
inbound = "12 ANC Meena 9123456783"
from_agent = 12
expect_sms = [
  { to = "+919123456783", text = "Meena visit Wagle HP, Road 16, Wagle Estate, Thane on 07-12-2026 at 10:00 for ANC" },
  { to_agent = 12, text = "Booked: Meena (ANC) at Wagle HP on 07-12-2026 10:00." },
]
"#,
    );
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn restart_with_clock_move_skips_times_in_between() {
    // Seema's reminder is due at 18:00 on Monday. The engine is down from
    // 17:00 until after her appointment, so no run at 18:00 may send it.
    let report = inline(
        r#"
[[step]]
at = "15:00"

[[step]]
inbound = "12 ANC Seema 9876543210"
from_agent = 12
expect_sms = [
  { to = "+919876543210", text = "Seema visit Wagle HP, Road 16, Wagle Estate, Thane on 08-12-2026 at 10:00 for ANC" },
  { to_agent = 12, text = "Booked: Seema (ANC) at Wagle HP on 08-12-2026 10:00." },
]

[[step]]
at = "17:00"

[[step]]
restart = true
advance = "18h"
expect_sms = []
expect_tasks = [{ beneficiary = "Seema", status = "booked" }]
"#,
    );
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn scheduler_crash_without_due_follow_ups_fails() {
    let report = inline("\n[[step]]\nat = \"09:00\"\nscheduler_crash_after_batches = 1\n");
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert_eq!(report.failures[0].location.as_deref(), Some("step 1 (line 9)"), "{text}");
    assert!(
        text.contains("scheduler_crash_after_batches: the scheduler run sent no follow-up before the crash"),
        "{text}"
    );
    assert!(text.contains("scheduler.batch_size"), "{text}");
}

#[test]
fn restart_with_inbound_names_line() {
    let report = inline("\n[[step]]\nrestart = true\ninbound = \"12 ANC Seema 9876543210\"\nfrom_agent = 12\n");
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(text.contains("line 9: step 1: a step does one thing"), "{text}");
}

#[test]
fn cancel_unknown_slot_fails_with_hint() {
    let report =
        inline("\n[[step]]\ncancel_slot = { facility = \"WGL\", case = \"ANC\", start = \"2026-12-08 11:00\" }\n");
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(text.contains("cancel_slot: no ANC slot at WGL starts at 2026-12-08 11:00"), "{text}");
    assert!(text.contains("[[fixture.slot_series]]"), "{text}");
}

#[test]
fn cancel_slot_twice_fails() {
    let report = inline(
        r#"
[[step]]
cancel_slot = { facility = "WGL", case = "ANC", start = "2026-12-08 10:00" }
expect_sms = []

[[step]]
cancel_slot = { facility = "WGL", case = "ANC", start = "2026-12-08 10:00" }
"#,
    );
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert_eq!(report.steps, 2, "{text}");
    assert!(text.contains("the ANC slot at WGL at 2026-12-08 10:00 is cancelled already"), "{text}");
}

#[test]
fn transform_without_capture_fails() {
    let report = inline(
        "\n[[step]]\nexpect_sms = [{ to_agent = 12, text = \"Tracking id {id|typo} has a typing mistake.\" }]\n",
    );
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(text.contains("expect_sms: item 1: {id|typo} has no value yet"), "{text}");
}

#[test]
fn unknown_transform_fails_parse() {
    let report = inline("\n[[step]]\ninbound = \"-1 SC 9876543210 Seema {id|typp}\"\nfrom_agent = 12\n");
    let text = report.render();
    assert!(!report.passed(), "{text}");
    assert!(text.starts_with("FAIL inline: invalid scenario file"), "{text}");
    assert!(text.contains("line 9: step 1: inbound: {id|typp} has an unknown transform"), "{text}");
}
