//! Message catalogues: every SMS text that people read, in English, Hindi
//! and Marathi, from Fluent files under `locales/` compiled into the binary.

use std::fmt;
use std::str::FromStr;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Serialize};
use unic_langid::LanguageIdentifier;

/// A language that beneficiaries, agents and clients can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Hi,
    Mr,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::En, Language::Hi, Language::Mr];

    /// The ISO 639-1 code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Hi => "hi",
            Language::Mr => "mr",
        }
    }

    /// The catalogue files of this language: SMS texts, WhatsApp replies
    /// and the client portal's pages. Message ids are unique across them.
    fn sources(self) -> [&'static str; 3] {
        match self {
            Language::En => [
                include_str!("../../locales/en/sms.ftl"),
                include_str!("../../locales/en/whatsapp.ftl"),
                include_str!("../../locales/en/portal.ftl"),
            ],
            Language::Hi => [
                include_str!("../../locales/hi/sms.ftl"),
                include_str!("../../locales/hi/whatsapp.ftl"),
                include_str!("../../locales/hi/portal.ftl"),
            ],
            Language::Mr => [
                include_str!("../../locales/mr/sms.ftl"),
                include_str!("../../locales/mr/whatsapp.ftl"),
                include_str!("../../locales/mr/portal.ftl"),
            ],
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Language::En),
            "hi" => Ok(Language::Hi),
            "mr" => Ok(Language::Mr),
            other => Err(format!("unknown language '{other}': use en, hi or mr")),
        }
    }
}

/// A rendered SMS text and the catalogue entry it came from. The entry id
/// is stored with the outbound message as its template id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedText {
    pub template_id: &'static str,
    pub language: Language,
    pub text: String,
}

/// The compiled catalogues of all languages.
pub struct Catalog {
    bundles: Vec<(Language, FluentBundle<FluentResource>)>,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog").finish_non_exhaustive()
    }
}

/// A catalogue file or entry that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the {language} catalogue has syntax errors: {details}")]
    Syntax { language: Language, details: String },
    #[error("the {language} catalogue has no message '{id}'")]
    MissingMessage { language: Language, id: String },
    #[error("rendering '{id}' in {language} failed: {details}")]
    Render { language: Language, id: String, details: String },
}

impl Catalog {
    /// Compiles the catalogues built into the binary.
    pub fn load() -> Result<Self, CatalogError> {
        let mut bundles = Vec::new();
        for language in Language::ALL {
            let identifier: LanguageIdentifier = language
                .code()
                .parse()
                .map_err(|error| CatalogError::Syntax { language, details: format!("{error}") })?;
            let mut bundle = FluentBundle::new_concurrent(vec![identifier]);
            // Unicode isolation marks around arguments would reach phones as
            // stray characters and make GSM text need UCS-2.
            bundle.set_use_isolating(false);
            for source in language.sources() {
                let resource = FluentResource::try_new(source.to_owned())
                    .map_err(|(_, errors)| CatalogError::Syntax { language, details: format!("{errors:?}") })?;
                bundle
                    .add_resource(resource)
                    .map_err(|errors| CatalogError::Syntax { language, details: format!("{errors:?}") })?;
            }
            bundles.push((language, bundle));
        }
        Ok(Self { bundles })
    }

    /// Renders message `id` in `language` with string arguments.
    pub fn render(
        &self,
        language: Language,
        id: &'static str,
        args: &[(&str, &str)],
    ) -> Result<RenderedText, CatalogError> {
        let bundle = self
            .bundles
            .iter()
            .find_map(|(candidate, bundle)| (*candidate == language).then_some(bundle))
            .ok_or_else(|| CatalogError::MissingMessage { language, id: id.to_owned() })?;
        let pattern = bundle
            .get_message(id)
            .and_then(|message| message.value())
            .ok_or_else(|| CatalogError::MissingMessage { language, id: id.to_owned() })?;

        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, FluentValue::from(*value));
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            return Err(CatalogError::Render { language, id: id.to_owned(), details: format!("{errors:?}") });
        }
        Ok(RenderedText { template_id: id, language, text: text.into_owned() })
    }

    /// Lists the message ids of one language, for consistency checks.
    pub fn message_ids(&self, language: Language) -> Vec<String> {
        language
            .sources()
            .into_iter()
            .flat_map(str::lines)
            .filter_map(|line| {
                let (id, _) = line.split_once(" =")?;
                let first = id.chars().next()?;
                (first.is_ascii_lowercase() && !id.contains(' ')).then(|| id.to_owned())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_message() {
        let catalog = Catalog::load().expect("catalogues compile");
        let english = catalog.message_ids(Language::En);
        assert!(english.len() > 10, "English catalogue lists {} messages", english.len());
        for language in [Language::Hi, Language::Mr] {
            assert_eq!(catalog.message_ids(language), english, "message ids of {language}");
        }
    }

    #[test]
    fn patient_appointment_renders_plain_text() {
        let catalog = Catalog::load().expect("catalogues compile");
        let rendered = catalog
            .render(
                Language::En,
                "patient-appointment",
                &[
                    ("name", "Seema Devi"),
                    ("facility", "Wagle HP"),
                    ("address", "Wagle Estate, Thane"),
                    ("date", "21-10-2026"),
                    ("time", "09:00"),
                    ("case", "ANC"),
                ],
            )
            .expect("renders");
        assert_eq!(rendered.text, "Seema Devi visit Wagle HP, Wagle Estate, Thane on 21-10-2026 at 09:00 for ANC");
    }

    #[test]
    fn field_names_are_translated() {
        let catalog = Catalog::load().expect("catalogues compile");
        let hindi = catalog.render(Language::Hi, "agent-missing-field", &[("field", "case_code")]).expect("renders");
        assert!(hindi.text.starts_with("केस कोड"), "got {}", hindi.text);
    }
}
