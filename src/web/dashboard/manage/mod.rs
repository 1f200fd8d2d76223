//! Admin pages for the data the booking engine works with: corporations,
//! facilities, case types, staff users and agents. Each entity has a list,
//! a form to add one and a form to change one. Only admins may change
//! anything here. Officers may read the facility and agent lists, limited
//! to their corporations, and get the not-found page for everything else.

pub mod agents;
pub mod case_types;
pub mod corporations;
pub mod facilities;
pub mod staff;

use askama::Template;
use serde::Deserialize;

use super::view::Layout;

/// The `notice` parameter that a list shows after a redirect from a form.
#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

impl NoticeQuery {
    /// Returns the sentence for a known notice code.
    pub fn message(&self) -> Option<&'static str> {
        match self.notice.as_deref() {
            Some("created") => Some("Added."),
            Some("saved") => Some("Changes saved."),
            _ => None,
        }
    }
}

/// A link shown as a button above a list.
#[derive(Debug, Clone)]
pub struct Link {
    pub href: String,
    pub text: String,
}

/// A table cell, optionally a link.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The column name, shown beside the value on narrow screens.
    pub column: &'static str,
    pub text: String,
    pub href: Option<String>,
}

impl Cell {
    pub fn text(column: &'static str, text: impl Into<String>) -> Self {
        Self { column, text: text.into(), href: None }
    }

    pub fn link(column: &'static str, text: impl Into<String>, href: impl Into<String>) -> Self {
        Self { column, text: text.into(), href: Some(href.into()) }
    }
}

/// A page with a table of rows: `templates/dashboard/list.html`.
#[derive(Template)]
#[template(path = "dashboard/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub heading: String,
    pub intro: String,
    pub notice: Option<&'static str>,
    pub actions: Vec<Link>,
    /// Singular and plural of what the rows are, for the count.
    pub noun: (&'static str, &'static str),
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// Returns whether a failed insert or update broke a UNIQUE constraint,
/// which happens when another request stored the same value between the
/// check and the write.
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

#[derive(Template)]
#[template(path = "dashboard/admin.html")]
struct AdminIndexPage {
    layout: Layout,
}

/// `GET /dashboard/admin/`: links to every admin page.
pub async fn index(signed_in: super::session::SignedIn) -> Result<actix_web::HttpResponse, super::DashboardError> {
    signed_in.require_admin()?;
    super::render(&AdminIndexPage { layout: Layout::signed_in("Admin", "admin", &signed_in) })
}
