//! Form handling shared by the data pages: the submitted fields, the
//! errors found in them, and the widgets `templates/dashboard/form.html`
//! renders. A rejected form is shown again with status 422, each error
//! beside its field and every field keeping what was typed.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::session::SignedIn;
use super::view::Layout;
use super::{render_with_status, DashboardError};

/// Submitted `application/x-www-form-urlencoded` fields in their order,
/// with repeated names (checkbox groups) kept.
#[derive(Debug, Clone, Default)]
pub struct FormData(Vec<(String, String)>);

impl From<Vec<(String, String)>> for FormData {
    fn from(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }
}

impl FormData {
    /// Returns the first value of `name` as sent, or "" when it is missing.
    pub fn raw(&self, name: &str) -> &str {
        self.0.iter().find_map(|(key, value)| (key == name).then_some(value.as_str())).unwrap_or("")
    }

    /// Returns the first value of `name` without surrounding white space.
    pub fn get(&self, name: &str) -> String {
        self.raw(name).trim().to_owned()
    }

    /// Returns every non-empty value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, value)| key == name && !value.trim().is_empty())
            .map(|(_, value)| value.trim().to_owned())
            .collect()
    }

    /// Returns whether a checkbox `name` was sent checked.
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }

    /// Accepts the form only if it carries the session's CSRF token.
    pub fn check_csrf(&self, signed_in: &SignedIn, request: &HttpRequest) -> Result<(), DashboardError> {
        signed_in.check_csrf(self.raw("csrf_token"), request)
    }
}

/// The problems found in a form, each tied to the field it is about.
#[derive(Debug, Clone, Default)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    /// Records a problem with `field`. Only the first problem of a field
    /// is kept, so each field shows one message.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find_map(|(name, message)| (*name == field).then_some(message.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Returns each field with its problem, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(field, message)| (*field, message.as_str()))
    }

    /// Returns the problems as links for the summary above the form.
    pub fn summary(&self) -> Vec<ErrorLink> {
        self.0.iter().map(|(field, message)| ErrorLink { field, message: message.clone() }).collect()
    }
}

/// A line of the error summary: the message and the field it leads to.
#[derive(Debug, Clone)]
pub struct ErrorLink {
    pub field: &'static str,
    pub message: String,
}

/// An `<input>` with its label, hint and error.
#[derive(Debug, Clone)]
pub struct Input {
    /// The form name, also the element id.
    pub name: &'static str,
    pub label: &'static str,
    /// `text`, `email`, `number`, `date`, `time`, `tel` or `password`.
    pub kind: &'static str,
    pub value: String,
    pub hint: String,
    pub error: Option<String>,
    pub required: bool,
    /// The `autocomplete` attribute; empty for none.
    pub autocomplete: &'static str,
}

/// An `<option>` of a `<select>` or a box of a checkbox group.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl ToString, label: impl Into<String>, selected: bool) -> Self {
        Self { value: value.to_string(), label: label.into(), selected }
    }
}

/// A `<select>` with its label, hint and error.
#[derive(Debug, Clone)]
pub struct Select {
    pub name: &'static str,
    pub label: &'static str,
    pub choices: Vec<Choice>,
    /// The label of a first, empty option; empty for no such option.
    pub placeholder: &'static str,
    pub hint: String,
    pub error: Option<String>,
    pub required: bool,
}

/// A group of checkboxes that share a name, in a `<fieldset>`.
#[derive(Debug, Clone)]
pub struct CheckGroup {
    pub name: &'static str,
    pub legend: &'static str,
    pub choices: Vec<Choice>,
    pub hint: String,
    pub error: Option<String>,
}

/// A single checkbox, sent as `name=on` when checked.
#[derive(Debug, Clone)]
pub struct Checkbox {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
    pub hint: String,
}

/// A `<textarea>` with its label, hint and error.
#[derive(Debug, Clone)]
pub struct TextArea {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub hint: String,
    pub error: Option<String>,
    pub required: bool,
    pub rows: u32,
}

/// One control of a form page.
#[derive(Debug, Clone)]
pub enum Widget {
    Input(Input),
    Select(Select),
    Checks(CheckGroup),
    Checkbox(Checkbox),
    TextArea(TextArea),
}

impl Widget {
    /// Builds a text input. The builder methods set other kinds and options.
    pub fn input(name: &'static str, label: &'static str, value: impl Into<String>, errors: &Errors) -> Input {
        Input {
            name,
            label,
            kind: "text",
            value: value.into(),
            hint: String::new(),
            error: errors.get(name).map(str::to_owned),
            required: false,
            autocomplete: "",
        }
    }

    pub fn select(name: &'static str, label: &'static str, choices: Vec<Choice>, errors: &Errors) -> Select {
        Select {
            name,
            label,
            choices,
            placeholder: "",
            hint: String::new(),
            error: errors.get(name).map(str::to_owned),
            required: false,
        }
    }

    pub fn checks(name: &'static str, legend: &'static str, choices: Vec<Choice>, errors: &Errors) -> CheckGroup {
        CheckGroup { name, legend, choices, hint: String::new(), error: errors.get(name).map(str::to_owned) }
    }

    pub fn checkbox(name: &'static str, label: &'static str, checked: bool) -> Checkbox {
        Checkbox { name, label, checked, hint: String::new() }
    }

    pub fn text_area(name: &'static str, label: &'static str, value: impl Into<String>, errors: &Errors) -> TextArea {
        TextArea {
            name,
            label,
            value: value.into(),
            hint: String::new(),
            error: errors.get(name).map(str::to_owned),
            required: false,
            rows: 3,
        }
    }
}

impl Input {
    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn autocomplete(mut self, autocomplete: &'static str) -> Self {
        self.autocomplete = autocomplete;
        self
    }
}

impl Select {
    pub fn placeholder(mut self, placeholder: &'static str) -> Self {
        self.placeholder = placeholder;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

impl CheckGroup {
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }
}

impl Checkbox {
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }
}

impl TextArea {
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

impl From<Input> for Widget {
    fn from(input: Input) -> Self {
        Widget::Input(input)
    }
}

impl From<Select> for Widget {
    fn from(select: Select) -> Self {
        Widget::Select(select)
    }
}

impl From<CheckGroup> for Widget {
    fn from(group: CheckGroup) -> Self {
        Widget::Checks(group)
    }
}

impl From<Checkbox> for Widget {
    fn from(checkbox: Checkbox) -> Self {
        Widget::Checkbox(checkbox)
    }
}

impl From<TextArea> for Widget {
    fn from(area: TextArea) -> Self {
        Widget::TextArea(area)
    }
}

/// A fact shown above a form, such as the message being corrected.
#[derive(Debug, Clone)]
pub struct Fact {
    pub term: String,
    pub detail: String,
}

/// A page with one form: `templates/dashboard/form.html`.
#[derive(Template)]
#[template(path = "dashboard/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub heading: String,
    /// A paragraph under the heading; empty for none.
    pub intro: String,
    pub facts: Vec<Fact>,
    /// Target URL of the form.
    pub action: String,
    pub submit_label: String,
    pub csrf_token: String,
    pub errors: Vec<ErrorLink>,
    pub widgets: Vec<Widget>,
    /// The link back to the list, with its text.
    pub back: (String, String),
}

impl FormPage {
    /// Starts a form page for the signed-in user; `section` marks the
    /// navigation entry.
    pub fn new(
        signed_in: &SignedIn,
        section: &'static str,
        heading: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        let heading = heading.into();
        Self {
            layout: Layout::signed_in(&heading, section, signed_in),
            heading,
            intro: String::new(),
            facts: Vec::new(),
            action: action.into(),
            submit_label: "Save".to_owned(),
            csrf_token: signed_in.csrf_token().to_owned(),
            errors: Vec::new(),
            widgets: Vec::new(),
            back: (String::new(), String::new()),
        }
    }

    /// Renders the page: 200 for a fresh form, 422 when `errors` has
    /// problems, which are listed above the form and beside their fields.
    pub fn respond(mut self, errors: &Errors) -> Result<HttpResponse, DashboardError> {
        self.errors = errors.summary();
        if !self.errors.is_empty() {
            self.layout.title = format!("Error: {}", self.layout.title);
        }
        let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        render_with_status(status, &self)
    }
}

/// Returns the problem with a required text, or `None` when it has 1 to
/// `max` characters.
pub fn check_length(value: &str, what: &str, max: usize) -> Option<String> {
    let length = value.chars().count();
    if length == 0 {
        return Some(format!("Enter the {what}."));
    }
    if length > max {
        return Some(format!("The {what} has {length} characters; use at most {max}."));
    }
    if value.chars().any(char::is_control) {
        return Some(format!("The {what} contains control characters; remove them."));
    }
    None
}

/// Reads a short code as agents type it: trimmed and upper-cased. It must
/// be a letter followed by letters or digits, at most `max` of them, which
/// is what the SMS grammar accepts as a case or facility code.
pub fn parse_code(value: &str, max: usize) -> Result<String, String> {
    let code = value.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err("Enter the code.".to_owned());
    }
    let mut characters = code.chars();
    let starts_with_letter = characters.next().is_some_and(|first| first.is_ascii_alphabetic());
    if !starts_with_letter || !characters.all(|character| character.is_ascii_alphanumeric()) {
        return Err(format!(
            "'{}' is not a code: use a letter followed by letters or digits, such as WGL or ANC.",
            value.trim()
        ));
    }
    if code.len() > max {
        return Err(format!("'{code}' is longer than {max} characters."));
    }
    Ok(code)
}

/// Reads a form id such as a `<select>` value; `None` when empty or not a
/// number.
pub fn parse_id(value: &str) -> Option<i32> {
    value.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_upper_case_letters_then_alphanumerics() {
        assert_eq!(parse_code(" wgl ", 10), Ok("WGL".to_owned()));
        assert_eq!(parse_code("hp2", 10), Ok("HP2".to_owned()));
        assert!(parse_code("", 10).is_err());
        assert!(parse_code("2HP", 10).is_err());
        assert!(parse_code("W G", 10).is_err());
        assert!(parse_code("WGLX", 3).is_err());
        assert!(parse_code("वगल", 10).is_err());
    }

    #[test]
    fn form_data_keeps_repeated_fields() {
        let form = FormData::from(vec![
            ("facility".to_owned(), "1".to_owned()),
            ("name".to_owned(), "  Asha  ".to_owned()),
            ("facility".to_owned(), "3".to_owned()),
            ("facility".to_owned(), " ".to_owned()),
        ]);

        assert_eq!(form.all("facility"), vec!["1".to_owned(), "3".to_owned()]);
        assert_eq!(form.get("name"), "Asha");
        assert_eq!(form.raw("missing"), "");
        assert!(!form.checked("active"));
    }

    #[test]
    fn errors_keep_first_message_per_field() {
        let mut errors = Errors::default();
        errors.add("code", "first");
        errors.add("code", "second");
        errors.add("name", "other");

        assert_eq!(errors.get("code"), Some("first"));
        assert_eq!(errors.summary().len(), 2);
    }

    #[test]
    fn length_check_names_the_limit() {
        assert_eq!(check_length("", "name", 5), Some("Enter the name.".to_owned()));
        assert!(check_length("abcdef", "name", 5).is_some_and(|message| message.contains("at most 5")));
        assert_eq!(check_length("सीमा", "name", 5), None);
    }
}
