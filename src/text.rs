//! Text that goes where markup or headers are read: HTML escaping for the portal's pages and
//! the invitations' HTML part, and the control characters no header or page should carry.

/// Drops control characters (CR, LF, tab, DEL, C1, and the Unicode line and paragraph
/// separators): in a header they would start a new header; in a body they have no business.
pub fn strip_controls(s: &str) -> String {
    s.chars().filter(|c| !is_control(*c)).collect()
}

/// What a value that ends up in a header must not contain.
pub fn is_control(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// Escapes text for an HTML element or a double- or single-quoted attribute.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
