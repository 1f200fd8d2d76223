//! Pieces every portal page shares: translated texts, the page frame, and
//! the choice of language for pages shown before sign-in.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::HttpRequest;

use super::assets::stylesheet_url;
use super::session::SignedInClient;
use crate::sms::catalog::Catalog;
use crate::sms::Language;
use crate::web::AppState;

/// The languages the portal offers, each named in its own script so that a
/// reader finds theirs whatever the page language is.
pub const LANGUAGES: [(&str, &str); 3] = [("en", "English"), ("hi", "हिन्दी"), ("mr", "मराठी")];

/// The catalogue in one language, for templates: `{{ t.get("id") }}`.
#[derive(Clone)]
pub struct Texts {
    catalog: Arc<Catalog>,
    pub language: Language,
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texts").field("language", &self.language).finish_non_exhaustive()
    }
}

impl Texts {
    pub fn new(state: &AppState, language: Language) -> Self {
        Self { catalog: state.engine.booking.catalog.clone(), language }
    }

    /// Renders message `id`. A missing message is logged and shown as its
    /// id, so a page still renders and the gap is visible.
    pub fn get(&self, id: &'static str) -> String {
        self.with_args(id, &[])
    }

    /// Renders message `id` with one argument.
    pub fn with(&self, id: &'static str, name: &str, value: &str) -> String {
        self.with_args(id, &[(name, value)])
    }

    /// Renders message `id` with arguments.
    pub fn with_args(&self, id: &'static str, args: &[(&str, &str)]) -> String {
        match self.catalog.render(self.language, id, args) {
            Ok(rendered) => rendered.text,
            Err(error) => {
                tracing::error!(%error, "portal text {id} is missing from the {} catalogue", self.language);
                id.to_owned()
            }
        }
    }

    /// Returns the ISO 639-1 code for the `lang` attribute.
    pub fn code(&self) -> &'static str {
        self.language.code()
    }
}

/// The signed-in client as the page header shows them.
#[derive(Debug, Clone)]
pub struct NavClient {
    pub name: String,
    /// For the sign-out and language forms in the header.
    pub csrf_token: String,
}

/// Data of the page frame in `templates/portal/base.html`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub t: Texts,
    pub title: String,
    pub client: Option<NavClient>,
    /// Path of this page, which the language form returns to.
    pub current_path: String,
    pub stylesheet: &'static str,
}

impl Layout {
    /// Builds a frame without the client's menu, for the sign-in and error
    /// pages.
    pub fn anonymous(t: Texts, title_id: &'static str) -> Self {
        let title = t.get(title_id);
        Self { t, title, client: None, current_path: String::new(), stylesheet: stylesheet_url() }
    }

    /// Builds a frame with the signed-in client's name, language switch and
    /// sign-out button.
    pub fn signed_in(t: Texts, title: String, signed_in: &SignedInClient, current_path: &str) -> Self {
        let name = match signed_in.client.display_name.trim() {
            "" => signed_in.client.login.clone(),
            name => name.to_owned(),
        };
        Self {
            t,
            title,
            client: Some(NavClient { name, csrf_token: signed_in.csrf.clone() }),
            current_path: current_path.to_owned(),
            stylesheet: stylesheet_url(),
        }
    }

    pub fn languages(&self) -> &'static [(&'static str, &'static str)] {
        &LANGUAGES
    }
}

/// Picks the language of a page shown before sign-in: `?lang=` when it
/// names a portal language, otherwise the first of en, hi and mr in the
/// browser's Accept-Language header, otherwise English.
pub fn request_language(request: &HttpRequest) -> Language {
    if let Some(language) = query_language(request.query_string()) {
        return language;
    }
    request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .and_then(accept_language)
        .unwrap_or(Language::En)
}

/// Returns the language named by a `lang` parameter of a query string.
pub fn query_language(query: &str) -> Option<Language> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "lang")
        .and_then(|(_, value)| value.parse().ok())
}

/// Returns the first portal language listed in an Accept-Language value.
/// Browsers list languages in the user's order, so the quality weights
/// are not compared.
fn accept_language(value: &str) -> Option<Language> {
    value.split(',').find_map(|entry| {
        let tag = entry.split(';').next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("");
        primary.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_takes_first_known() {
        assert_eq!(accept_language("mr-IN,mr;q=0.9,en;q=0.8"), Some(Language::Mr));
        assert_eq!(accept_language("fr-FR, hi;q=0.5"), Some(Language::Hi));
        assert_eq!(accept_language("fr, de"), None);
        assert_eq!(accept_language(""), None);
    }

    #[test]
    fn query_language_reads_lang() {
        assert_eq!(query_language("login=abc&lang=hi"), Some(Language::Hi));
        assert_eq!(query_language("lang=xx"), None);
        assert_eq!(query_language(""), None);
    }
}
