//! Pieces every dashboard page shares: the layout data of the page frame
//! and the way dates, statuses and reason codes are shown.

use chrono::{NaiveDateTime, TimeZone as _};
use chrono_tz::Tz;

use super::assets::stylesheet_url;
use super::session::SignedIn;

/// The signed-in user as the page header shows them.
#[derive(Debug, Clone)]
pub struct NavUser {
    pub name: String,
    pub role: &'static str,
    /// For the sign-out form in the header.
    pub csrf_token: String,
}

/// Data of the page frame in `templates/dashboard/base.html`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub user: Option<NavUser>,
    /// The navigation entry of this page (`home`, `tasks`, `flags`,
    /// `slots`, `outbox`, `agents`, `facilities`, `admin`, `account`),
    /// marked as the current page; empty for none.
    pub section: &'static str,
    /// URL of the stylesheet, with its version.
    pub stylesheet: &'static str,
}

impl Layout {
    /// A frame without navigation, for the sign-in and error pages.
    pub fn anonymous(title: &str) -> Self {
        Self { title: title.to_owned(), user: None, section: "", stylesheet: stylesheet_url() }
    }

    /// A frame with the navigation of a signed-in user.
    pub fn signed_in(title: &str, section: &'static str, signed_in: &SignedIn) -> Self {
        Self {
            title: title.to_owned(),
            user: Some(NavUser {
                name: signed_in.user.name.clone(),
                role: signed_in.user.role().as_str(),
                csrf_token: signed_in.csrf_token().to_owned(),
            }),
            section,
            stylesheet: stylesheet_url(),
        }
    }
}

/// Formats a stored UTC time as local `dd-mm-yyyy HH:MM`.
pub fn local_time(zone: Tz, utc: NaiveDateTime) -> String {
    zone.from_utc_datetime(&utc).format("%d-%m-%Y %H:%M").to_string()
}

/// Task statuses in lifecycle order, with the label people read.
pub const TASK_STATUSES: [(&str, &str); 5] = [
    ("booked", "Booked"),
    ("follow_up_sent", "Follow-up sent"),
    ("completed", "Completed"),
    ("escalated", "Escalated"),
    ("cancelled", "Cancelled"),
];

/// Returns who caused a task transition, as people read it.
pub fn actor_label(actor: &str) -> String {
    match actor {
        "agent_sms" => "the agent's SMS".to_owned(),
        other => other.replace('_', " "),
    }
}

/// Returns the label of a stored status or code. A known task status gets
/// its label, and anything else has underscores turned into spaces and a
/// capital first letter (`unknown_case_type` becomes "Unknown case type").
pub fn label(code: &str) -> String {
    if let Some((_, label)) = TASK_STATUSES.iter().find(|(stored, _)| *stored == code) {
        return (*label).to_owned();
    }
    let spaced = code.replace('_', " ");
    let mut characters = spaced.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_words() {
        assert_eq!(label("follow_up_sent"), "Follow-up sent");
        assert_eq!(label("unknown_case_type"), "Unknown case type");
        assert_eq!(actor_label("agent_sms"), "the agent's SMS");
        assert_eq!(actor_label("scheduler"), "scheduler");
        assert_eq!(label(""), "");
    }

    #[test]
    fn local_time_uses_the_zone() {
        let utc = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).and_then(|date| date.and_hms_opt(20, 0, 0));
        let utc = utc.expect("valid time");

        assert_eq!(local_time(chrono_tz::Asia::Kolkata, utc), "05-12-2026 01:30");
    }
}
