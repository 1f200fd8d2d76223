//! The result of one scenario and how it is printed: one `PASS` or `FAIL`
//! line, and for a failure the reasons with a unified diff of expected and
//! actual lines.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// Indentation of the lines printed under a `FAIL` line.
const INDENT: &str = "    ";

/// One reason a scenario failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The place in the scenario, such as `step 3 (line 27)`, or `None`
    /// for the file as a whole.
    pub location: Option<String>,
    /// The problem and, where it helps, the fix.
    pub message: String,
    /// Expected lines, when the failure is a difference.
    pub expected: Option<String>,
    /// Actual lines, when the failure is a difference.
    pub actual: Option<String>,
}

impl Failure {
    pub fn new(location: Option<String>, message: impl Into<String>) -> Self {
        Self { location, message: message.into(), expected: None, actual: None }
    }

    pub fn difference(location: Option<String>, message: impl Into<String>, expected: String, actual: String) -> Self {
        Self { location, message: message.into(), expected: Some(expected), actual: Some(actual) }
    }

    /// Returns the unified diff of expected and actual lines, if this
    /// failure has them.
    pub fn diff(&self) -> Option<String> {
        let (expected, actual) = (self.expected.as_deref()?, self.actual.as_deref()?);
        let diff = similar::TextDiff::from_lines(expected, actual);
        let mut text = diff.unified_diff().context_radius(3).header("expected", "actual").to_string();
        if expected.is_empty() || actual.is_empty() {
            // An empty side shows as no lines at all, which is easy to miss.
            let side = if expected.is_empty() { "expected" } else { "actual" };
            let _ = writeln!(text, "({side}: nothing)");
        }
        Some(text)
    }

    fn headline(&self) -> String {
        match &self.location {
            Some(location) => format!("{location}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// The outcome of one scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioReport {
    /// The file name without `.toml`, or the path when the file could not
    /// be read or parsed.
    pub name: String,
    pub path: Option<PathBuf>,
    /// Steps that ran, including a failing one.
    pub steps: usize,
    pub elapsed: Duration,
    /// Empty when the scenario passed.
    pub failures: Vec<Failure>,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Renders the `PASS` line, or the `FAIL` line followed by indented
    /// details.
    pub fn render(&self) -> String {
        let Some((first, rest)) = self.failures.split_first() else {
            let steps = if self.steps == 1 { "step" } else { "steps" };
            return format!("PASS {} ({} {steps}, {} ms)", self.name, self.steps, self.elapsed.as_millis());
        };
        let mut text = format!("FAIL {}: {}", self.name, indent_continuation(&first.headline()));
        append_diff(&mut text, first);
        for failure in rest {
            let _ = write!(text, "\n{INDENT}{}", indent_continuation(&failure.headline()));
            append_diff(&mut text, failure);
        }
        text
    }
}

fn append_diff(text: &mut String, failure: &Failure) {
    if let Some(diff) = failure.diff() {
        for line in diff.lines() {
            let _ = write!(text, "\n{INDENT}{line}");
        }
    }
}

/// Indents every line after the first, so multi-line messages stay under
/// their `FAIL` line.
fn indent_continuation(message: &str) -> String {
    message.lines().collect::<Vec<_>>().join(&format!("\n{INDENT}"))
}

/// Returns the closing line: `N passed, M failed`.
pub fn summary(reports: &[ScenarioReport]) -> String {
    let passed = reports.iter().filter(|report| report.passed()).count();
    format!("{passed} passed, {} failed", reports.len() - passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(failures: Vec<Failure>) -> ScenarioReport {
        ScenarioReport { name: "demo".into(), path: None, steps: 3, elapsed: Duration::from_millis(42), failures }
    }

    #[test]
    fn pass_line_names_steps_and_time() {
        assert_eq!(report(Vec::new()).render(), "PASS demo (3 steps, 42 ms)");
    }

    #[test]
    fn fail_line_shows_unified_diff() {
        let failure = Failure::difference(
            Some("step 2 (line 9)".into()),
            "expect_sms: the SMS sent differ",
            "{ to_agent = 12, text = \"a\" }\n".into(),
            "{ to_agent = 12, text = \"b\" }\n".into(),
        );
        let text = report(vec![failure]).render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "FAIL demo: step 2 (line 9): expect_sms: the SMS sent differ");
        assert!(lines.contains(&"    --- expected"), "{text}");
        assert!(lines.contains(&"    -{ to_agent = 12, text = \"a\" }"), "{text}");
        assert!(lines.contains(&"    +{ to_agent = 12, text = \"b\" }"), "{text}");
    }

    #[test]
    fn empty_side_is_named() {
        let failure = Failure::difference(None, "extra SMS", String::new(), "{ to = \"+91\" }\n".into());
        assert!(failure.diff().expect("diff").contains("(expected: nothing)"));
    }

    #[test]
    fn summary_counts_both() {
        let reports = vec![report(Vec::new()), report(vec![Failure::new(None, "broken")])];
        assert_eq!(summary(&reports), "1 passed, 1 failed");
    }
}
