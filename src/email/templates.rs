//! The enrolment e-mail templates: the shipped ones (`templates/<lang>.toml`, compiled in),
//! the administrator's overrides from `email.templates_dir`, placeholder checking at config
//! load, and rendering with the escaping each part needs.
//!
//! A template file has one table per method (`[totp]`, `[sms]`, `[push]`, `[phone]`,
//! `[privacyidea]`), each with `subject`, `text` (plain) and `html`. Placeholders are
//! `{name}` (display name, else user name), `{user}`, `{phone}` (masked), `{link}` and
//! `{expires}`; `{{` and `}}` stand for literal braces.
//!
//! Optional values: `{phone}`, `{link}` and `{expires}` may be absent (a push user whose phone
//! only the push provider knows; no portal configured). A paragraph — lines between blank
//! lines — that uses an absent value is left out whole, so one template reads sensibly with
//! and without a portal: keep the link and what introduces it in one paragraph. `{expires}`
//! is the link's expiry and is absent whenever the link is.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::Method;

/// The languages templates ship in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Language {
    En,
    Sv,
    Nl,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::En, Language::Sv, Language::Nl];

    /// `en`, `sv`, `nl`, case-insensitively; a region (`sv-SE`, `nl_BE`) is ignored.
    pub fn parse(s: &str) -> Option<Self> {
        let primary = s.trim().split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "en" => Some(Language::En),
            "sv" => Some(Language::Sv),
            "nl" => Some(Language::Nl),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Sv => "sv",
            Language::Nl => "nl",
        }
    }

    fn shipped(&self) -> &'static str {
        match self {
            Language::En => include_str!("templates/en.toml"),
            Language::Sv => include_str!("templates/sv.toml"),
            Language::Nl => include_str!("templates/nl.toml"),
        }
    }
}

/// Every method, in the order templates are stored.
const METHODS: [Method; 5] = [
    Method::Totp,
    Method::Sms,
    Method::Push,
    Method::Phone,
    Method::Privacyidea,
];

fn method_index(m: Method) -> usize {
    match m {
        Method::Totp => 0,
        Method::Sms => 1,
        Method::Push => 2,
        Method::Phone => 3,
        Method::Privacyidea => 4,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Var {
    Name,
    User,
    Phone,
    Link,
    Expires,
}

const KNOWN: &str = "{name}, {user}, {phone}, {link}, {expires}";

impl Var {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "name" => Some(Var::Name),
            "user" => Some(Var::User),
            "phone" => Some(Var::Phone),
            "link" => Some(Var::Link),
            "expires" => Some(Var::Expires),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Var(Var),
}

/// One part, parsed: its paragraphs, each literal text and placeholders.
#[derive(Debug, Clone)]
struct Part {
    paragraphs: Vec<Vec<Piece>>,
}

#[derive(Debug, Clone)]
struct Template {
    subject: Part,
    text: Part,
    html: Part,
}

/// Why a template file cannot be used; `file` is its path, or `shipped <lang>.toml`.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{file}: [{method}] {part}: {message}")]
    Part {
        file: String,
        method: &'static str,
        part: &'static str,
        message: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileRaw {
    totp: Option<PartsRaw>,
    sms: Option<PartsRaw>,
    push: Option<PartsRaw>,
    phone: Option<PartsRaw>,
    privacyidea: Option<PartsRaw>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct PartsRaw {
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
}

impl FileRaw {
    fn method(&self, m: Method) -> Option<&PartsRaw> {
        match m {
            Method::Totp => self.totp.as_ref(),
            Method::Sms => self.sms.as_ref(),
            Method::Push => self.push.as_ref(),
            Method::Phone => self.phone.as_ref(),
            Method::Privacyidea => self.privacyidea.as_ref(),
        }
    }
}

/// The values a template is filled with; `None` leaves out the paragraphs that use it.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    pub name: &'a str,
    pub user: &'a str,
    /// Already masked.
    pub phone: Option<&'a str>,
    pub link: Option<&'a str>,
    pub expires: Option<&'a str>,
}

impl Values<'_> {
    fn get(&self, v: Var) -> Option<&str> {
        match v {
            Var::Name => Some(self.name),
            Var::User => Some(self.user),
            Var::Phone => self.phone,
            Var::Link => self.link,
            // The expiry is the link's: without a link it would be a dangling date.
            Var::Expires => self.link.and(self.expires),
        }
    }
}

/// A rendered e-mail: one-line subject, plain text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Every language's template of every method, overrides applied.
#[derive(Clone)]
pub struct Templates {
    /// `by_lang[language][method_index]`.
    by_lang: Vec<(Language, Vec<Template>)>,
}

impl fmt::Debug for Templates {
    // The parsed pieces would fill a log line with HTML; which languages is what matters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let langs: Vec<&str> = self.by_lang.iter().map(|(l, _)| l.as_str()).collect();
        f.debug_struct("Templates")
            .field("languages", &langs)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The shipped templates, with the parts `dir/<lang>.toml` gives in their place. Every
    /// template is checked, so an unknown placeholder is an error at config load. `warnings`
    /// gets the `*.toml` files in `dir` that are no language.
    pub fn load(dir: Option<&Path>, warnings: &mut Vec<String>) -> Result<Self, TemplateError> {
        if let Some(dir) = dir {
            warn_stray_files(dir, warnings)?;
        }
        let mut by_lang = Vec::new();
        for lang in Language::ALL {
            let shipped_name = format!("shipped {}.toml", lang.as_str());
            let shipped = parse_file(lang.shipped(), &shipped_name)?;
            let over = match dir {
                Some(dir) => {
                    let path = dir.join(format!("{}.toml", lang.as_str()));
                    read_override(&path)?.map(|raw| (path.display().to_string(), raw))
                }
                None => None,
            };
            let mut templates = Vec::new();
            for m in METHODS {
                let base = shipped.method(m).cloned().unwrap_or_default();
                let theirs = over.as_ref().and_then(|(f, raw)| Some((f, raw.method(m)?)));
                let part = |name: &'static str,
                            pick: fn(&PartsRaw) -> &Option<String>|
                 -> Result<Part, TemplateError> {
                    if let Some((file, src)) =
                        theirs.and_then(|(f, p)| Some((f, pick(p).as_ref()?)))
                    {
                        return parse_part(src, name, file, m);
                    }
                    let src = pick(&base).as_ref().ok_or_else(|| TemplateError::Part {
                        file: shipped_name.clone(),
                        method: m.as_str(),
                        part: name,
                        message: "missing".into(),
                    })?;
                    parse_part(src, name, &shipped_name, m)
                };
                templates.push(Template {
                    subject: part("subject", |p| &p.subject)?,
                    text: part("text", |p| &p.text)?,
                    html: part("html", |p| &p.html)?,
                });
            }
            by_lang.push((lang, templates));
        }
        Ok(Self { by_lang })
    }

    pub fn render(&self, lang: Language, method: Method, values: &Values) -> Rendered {
        // `load` fills every language, so the fallback to the first is never taken.
        let templates = self
            .by_lang
            .iter()
            .find(|(l, _)| *l == lang)
            .or_else(|| self.by_lang.first())
            .map(|(_, t)| t);
        let Some(t) = templates.and_then(|t| t.get(method_index(method))) else {
            return Rendered {
                subject: String::new(),
                text: String::new(),
                html: String::new(),
            };
        };
        let mut text = fill(&t.text, values, strip_controls);
        text.push('\n');
        let mut html = fill(&t.html, values, |s| escape_html(&strip_controls(s)));
        html.push('\n');
        Rendered {
            subject: strip_controls(&fill(&t.subject, values, strip_controls))
                .trim()
                .to_owned(),
            text,
            html,
        }
    }
}

fn warn_stray_files(dir: &Path, warnings: &mut Vec<String>) -> Result<(), TemplateError> {
    let entries = std::fs::read_dir(dir).map_err(|e| TemplateError::File {
        file: dir.display().to_string(),
        message: format!("cannot read the directory: {e}"),
    })?;
    let mut stray = BTreeSet::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let is_toml = path.extension().is_some_and(|e| e == "toml");
        if is_toml && !Language::ALL.iter().any(|l| l.as_str() == stem) {
            stray.insert(path);
        }
    }
    for path in stray {
        warnings.push(format!(
            "email.templates_dir: {} is ignored: templates are read from en.toml, sv.toml and \
             nl.toml",
            path.display()
        ));
    }
    Ok(())
}

fn read_override(path: &PathBuf) -> Result<Option<FileRaw>, TemplateError> {
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(TemplateError::File {
                file,
                message: format!("cannot read: {e}"),
            })
        }
    };
    parse_file(&text, &file).map(Some)
}

fn parse_file(text: &str, file: &str) -> Result<FileRaw, TemplateError> {
    toml::from_str(text).map_err(|e| TemplateError::File {
        file: file.to_owned(),
        message: e.message().trim_end().replace('\n', " | "),
    })
}

fn parse_part(
    src: &str,
    part: &'static str,
    file: &str,
    method: Method,
) -> Result<Part, TemplateError> {
    let err = |message: String| TemplateError::Part {
        file: file.to_owned(),
        method: method.as_str(),
        part,
        message,
    };
    if src.trim().is_empty() {
        return Err(err("empty".into()));
    }
    if part == "subject" && src.trim().contains('\n') {
        return Err(err("must be one line".into()));
    }
    let paragraphs = split_paragraphs(src);
    let paragraphs = paragraphs
        .iter()
        .map(|p| parse_pieces(p).map_err(&err))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Part { paragraphs })
}

/// Blocks of non-blank lines; blank lines (whitespace only) separate them.
fn split_paragraphs(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in src.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(cur.join("\n"));
                cur.clear();
            }
        } else {
            cur.push(line.trim_end());
        }
    }
    if !cur.is_empty() {
        out.push(cur.join("\n"));
    }
    out
}

fn parse_pieces(src: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut it = src.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            '{' if it.peek().map(|(_, c)| *c) == Some('{') => {
                it.next();
                lit.push('{');
            }
            '}' if it.peek().map(|(_, c)| *c) == Some('}') => {
                it.next();
                lit.push('}');
            }
            '}' => return Err("a lone \"}\" (write \"}}\" for a brace)".into()),
            '{' => {
                let rest = &src[i + 1..];
                let Some(end) = rest.find('}') else {
                    let shown: String = src[i..].chars().take(20).collect();
                    return Err(format!(
                        "unclosed \"{{\" at \"{shown}\" (write \"{{{{\" for a brace)"
                    ));
                };
                let name = &rest[..end];
                let var = Var::parse(name).ok_or_else(|| {
                    let shown: String = name.chars().take(40).collect();
                    format!("unknown placeholder {{{shown}}} (known: {KNOWN})")
                })?;
                if !lit.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut lit)));
                }
                pieces.push(Piece::Var(var));
                // Skip the name and the closing brace.
                for _ in 0..name.chars().count() + 1 {
                    it.next();
                }
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Text(lit));
    }
    Ok(pieces)
}

fn fill(part: &Part, values: &Values, escape: impl Fn(&str) -> String) -> String {
    let mut out = Vec::new();
    'para: for para in &part.paragraphs {
        let mut s = String::new();
        for piece in para {
            match piece {
                Piece::Text(t) => s.push_str(t),
                Piece::Var(v) => match values.get(*v) {
                    Some(value) => s.push_str(&escape(value)),
                    None => continue 'para,
                },
            }
        }
        out.push(s);
    }
    out.join("\n\n")
}

pub use crate::text::{escape_html, is_control, strip_controls};

#[cfg(test)]
mod tests;
